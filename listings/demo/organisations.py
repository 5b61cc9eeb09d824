"""The demo organisations, one per line: key|name|kind|region|registry|division|phone|pending|description.

Credit codes are made up — 登记管理部门+机构类别 (11 机关, 12 事业单位, 91 企业, 93 农民专业合作社), the GB/T 2260
division (54… Tibet, 11… Beijing, 32… Jiangsu), "LH" and a serial — but carry a valid GB 32100 check character.
"""

# ruff: noqa: E501

from dataclasses import dataclass

from marketplace.accounts.creditcode import make_credit_code

ORG_TEXT = """
bureau|拉萨市科学技术局|bureau|tibet|11|540100|0891-6324001||负责全市科技创新、科技成果转移转化和技术合同认定登记工作,承担本平台的机构认证、成果审核和技术市场统计。
xzu|西藏大学|university|tibet|12|540000|0891-6639001||自治区属综合性大学,设有理学院、工学院、医学院和生态环境学院,科技处下设技术转移中心,长期从事高原生态、清洁能源、藏医药和信息技术研究。
xzau|西藏农牧学院|university|tibet|12|540402|0894-5822001||位于林芝市,以高原农牧业、林学和食品科学见长,在青稞育种、牦牛养殖和藏猪繁育方面积累了大量成果。
xzmz|西藏民族大学|university|tibet|12|540000|029-33755001||民族类综合大学,在民族文化数字化、藏文信息处理和高原医学方面有特色研究团队。
xztmu|西藏藏医药大学|university|tibet|12|540100|0891-6336001||全国唯一独立设置的藏医药高等院校,拥有藏药新药研发和藏药材资源保护重点实验室。
xzaas|西藏自治区农牧科学院|institute|tibet|12|540000|0891-6862001||自治区农牧业科研主力,下设农业研究所、畜牧兽医研究所、草业科学研究所和蔬菜研究所,育成多个青稞、饲草新品种。
xzbio|西藏高原生物研究所|institute|tibet|12|540100|0891-6332101||从事高原生物资源调查、微生物与酶制剂、藏药材组培快繁和生物多样性保护研究。
xzenergy|西藏自治区能源研究示范中心|institute|tibet|12|540000|0891-6825001||长期从事太阳能、地热和高原微电网的研究与示范,建有高海拔光伏实证测试基地。
xzenv|西藏自治区环境科学研究院|institute|tibet|12|540000|0891-6833001||承担高原水环境、土壤污染、冰川冰湖与生态保护修复的监测和技术研究。
xzvtc|西藏职业技术学院|university|tibet|12|540100|0891-6362001||高职院校,建筑工程、旅游管理和汽车维修专业与拉萨本地企业合作密切,承接多项技术服务。
bjaid|北京援藏科技成果转化服务中心|aid_partner|beijing|12|110000|010-55578001||组织首都高校院所和科技企业的成果对接拉萨需求,提供成果筛选、中试对接和驻场技术服务。
bua|北京农学院|university|beijing|12|110114|010-80799001||北京市属农业高校,在设施农业、食品加工和动物医学方面与拉萨开展长期对口合作。
bit|北京理工大学|university|beijing|12|110108|010-68912001||在储能、智能感知、无人系统和新材料领域具有优势,多项成果在高原环境下完成验证。
cau|中国农业大学|university|beijing|12|110108|010-62737001||在草地科学、动物营养、农产品加工和农业工程方面为西藏提供长期科技支撑。
baafs|北京市农林科学院|institute|beijing|12|110108|010-51503001||在蔬菜育种、设施园艺、智慧农业和农产品质量安全检测方面有成熟成果。
bucm|北京中医药大学|university|beijing|12|110105|010-64286001||与西藏藏医药大学共建民族医药联合实验室,开展藏药质量标准和高原病防治研究。
bjdigital|北京京藏数字文化科技有限公司|aid_partner|beijing|91|110108|010-62988001||北京援藏引进企业,从事文物与非遗数字化、三维扫描和智慧景区系统建设,在拉萨设有分公司。
jsaid|江苏援藏科技合作服务中心|aid_partner|jiangsu|12|320000|025-83358001||对接江苏高校、院所和企业的成熟技术,组织拉萨—江苏技术供需对接会和科技特派员服务。
njau|南京农业大学|university|jiangsu|12|320102|025-84395001||在作物育种、动物科学、食品科技和农业资源环境方面与西藏开展多年合作。
ujs|江苏大学|university|jiangsu|12|320702|0511-88780001||以农业工程、食品加工装备和流体机械见长,多项农产品加工装备在西藏推广应用。
nju|南京大学|university|jiangsu|12|320113|025-89683001||在环境科学、地理信息、冰冻圈遥感和新材料方面有深厚积累。
jaas|江苏省农业科学院|institute|jiangsu|12|320102|025-84390001||在农产品加工、畜禽疫病防控和设施蔬菜方面形成了一批可转化成果。
hhu|河海大学|university|jiangsu|12|320106|025-83786001||水利与水环境学科优势明显,开展高原冰湖溃决风险评估和小流域治理研究。
cpu|中国药科大学|university|jiangsu|12|320115|025-86185001||在天然药物化学、药物制剂和质量控制方面与藏药企业合作开展二次开发。
szsolar|苏州绿能高原新能源科技有限公司|aid_partner|jiangsu|91|320571|0512-62958001||苏州工业园区企业,专注高海拔光伏组件、储能系统和电站智能运维,在曲水县建有运维服务站。
szwater|苏州清泉环境工程有限公司|enterprise|jiangsu|91|320505|0512-66558001||从事分散式污水处理设备和农村饮水安全工程,产品在拉萨多个乡镇运行。
qingke|西藏青稞源食品有限公司|enterprise|tibet|91|540104|0891-6801001||位于达孜工业园区,生产青稞饼、青稞挂面、糌粑和青稞茶,年加工青稞约 8000 吨。
yakdairy|拉萨净土牦牛乳业有限公司|enterprise|tibet|91|540103|0891-6805001||堆龙德庆区牦牛乳制品企业,产品有牦牛酸奶、奶渣和牦牛奶粉,合作牧户 1200 余户。
tibmed|拉萨雪域藏药厂有限公司|enterprise|tibet|91|540100|0891-6811001||位于经开区的藏药 GMP 生产企业,拥有丸剂、散剂和胶囊剂生产线,品种 60 余个。
pvops|拉萨日光城光伏电站运维有限公司|enterprise|tibet|91|540124|0891-6815001||为曲水县、尼木县多个地面光伏电站提供运维服务,管理装机容量约 300 MW。
oldtown|拉萨古城文化旅游发展有限公司|enterprise|tibet|91|540102|0891-6821001||运营八廓街周边文旅项目和两处 A 级景区,年接待游客超过 200 万人次。
purewater|拉萨高原净水科技有限公司|enterprise|tibet|91|540100|0891-6826001||高新区企业,承接乡镇集中供水运维和桶装饮用水生产,服务人口约 15 万。
buildmat|拉萨雪峰新型建材有限公司|enterprise|tibet|91|540103|0891-6831001||生产加气混凝土砌块、保温装饰一体板和预拌砂浆,年产能 30 万立方米。
oxygen|拉萨高原供氧科技有限公司|enterprise|tibet|91|540102|0891-6836001||为酒店、学校和办公楼提供弥散式供氧系统设计、安装与运维。
dangxiong|当雄县纳木措牧业发展有限公司|enterprise|tibet|91|540122|0891-6841001||当雄县国有牧业企业,经营牦牛育肥、饲草种植和牦牛肉初加工,存栏牦牛约 6000 头。
linzhou|林周县草业开发有限公司|enterprise|tibet|91|540121|0891-6845001||从事人工饲草种植、草种扩繁和退化草地修复工程,饲草基地 1.2 万亩。
nimu|尼木县吞巴藏香农民专业合作社|enterprise|tibet|93|540123|0891-6851001||传承尼木藏香制作技艺的农民专业合作社,社员 86 户,年产藏香约 40 吨。
thangka|拉萨唐卡艺术数字传承有限公司|enterprise|tibet|91|540102|0891-6855001||入驻文创园,从事唐卡绘制、数字化典藏和文创衍生品开发,签约画师 40 余名。
citydigital|拉萨城投数字科技有限公司|enterprise|tibet|91|540100|0891-6858001||承担智慧城市、政务云和城市运行管理平台建设运营。
jiama|墨竹工卡县甲玛沟生态农业有限公司|enterprise|tibet|91|540127|0891-6861001||经营高原设施蔬菜、食用菌和藏药材种植基地,带动周边农户 300 余户。
ipagent|拉萨雪域知识产权代理有限公司|agency|tibet|91|540102|0891-6871001||专利、商标代理和知识产权运营服务机构,为区内高校院所提供专利申请、布局和许可谈判服务。
evaluator|西藏智远技术评估咨询有限公司|agency|tibet|91|540100|0891-6875001||从事科技成果评价、技术价值评估和技术合同认定登记咨询,具有资产评估资质合作方。
broker|拉萨科创技术经纪有限公司|agency|tibet|91|540100|0891-6878001||拥有 12 名持证技术经纪人,提供需求挖掘、成果对接、商务谈判和合同登记全流程服务。
coldchain|拉萨藏地冷链物流有限公司|enterprise|tibet|91|540103|0891-6881001|pending|新注册的冷链物流企业,计划开展牦牛肉、奶制品和果蔬的区内外冷链运输。
bjsnowlotus|北京雪莲生物科技有限公司|enterprise|beijing|91|110114|010-80722001|pending|从事高原植物提取物和功能性食品研发,拟与拉萨企业合作建设提取车间。
qushui|曲水县净土农业专业合作社|enterprise|tibet|93|540124|0891-6885001|pending|种植有机蔬菜和玛咖,希望引进节水灌溉与采后保鲜技术。
heating|拉萨圣城暖通热力有限公司|enterprise|tibet|91|540102|0891-6864001||承担城关区部分小区和学校的集中供暖,运营燃气锅炉房 6 座、太阳能集热站 1 座,供暖面积约 180 万平方米。
carpet|拉萨达孜藏毯织造有限公司|enterprise|tibet|91|540104|0891-6866001||达孜工业园区藏毯企业,手工与机织藏毯年产 3 万平方米,羊毛原料主要来自当雄、林周两县。
hotel|拉萨日光城酒店管理有限公司|enterprise|tibet|91|540102|0891-6868001||管理城关区、柳梧新区的 5 家中高端酒店,客房 900 余间,住客以内地游客为主。
logistics|拉萨空港综合物流有限公司|enterprise|tibet|91|540100|0891-6872001||空港新区物流企业,经营区内外干线运输和城配,自有冷藏车 26 辆、常温仓 2 万平方米。
"""


@dataclass(frozen=True)
class OrgSpec:
    key: str
    name: str
    kind: str
    region: str
    registry: str
    division: str
    phone: str
    verified: bool
    description: str
    serial: int

    @property
    def credit_code(self) -> str:
        return make_credit_code(f"{self.registry}{self.division}LH{self.serial:07d}")


def _parse() -> list[OrgSpec]:
    specs = []
    for serial, line in enumerate(ORG_TEXT.strip().splitlines(), start=1):
        key, name, kind, region, registry, division, phone, pending, description = line.split("|")
        specs.append(
            OrgSpec(key, name, kind, region, registry, division, phone, pending != "pending", description, serial)
        )
    return specs


ORGANISATIONS = _parse()
BY_KEY = {spec.key: spec for spec in ORGANISATIONS}
BUREAU = BY_KEY["bureau"]

# The logins printed by load_demo: username, organisation key, role shown in the table.
LOGINS = [
    ("bureau", "bureau", "科技局审核人员"),
    ("xizang_univ", "xzu", "高校技术转移办"),
    ("beijing_aid", "bjaid", "北京援藏合作单位"),
    ("jiangsu_aid", "jsaid", "江苏援藏合作单位"),
    ("enterprise", "qingke", "企业(需求方)"),
    ("agency", "broker", "技术经纪机构"),
]
SUPERUSER = "admin"

# Contact people of the other organisations (made up); their usernames are the organisation keys.
PEOPLE = [
    "次仁",
    "扎西",
    "卓玛",
    "央金",
    "格桑",
    "旺堆",
    "德吉",
    "平措",
    "拉巴",
    "达瓦",
    "王磊",
    "李静",
    "张伟",
    "刘洋",
    "陈晨",
    "周敏",
    "顾峰",
    "徐蕾",
    "赵宁",
    "孙婷",
]
