"""The import page: owners only, a job run by the task backend (immediate in tests), progress JSON, results."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from listings.importer import template_csv
from listings.imports import import_job_run
from listings.models import ImportJob, Technology
from listings.patents import make_patent_number
from tests.factories import UserFactory, member_of

pytestmark = pytest.mark.django_db

HEADERS = ["标题", "简介", "详细描述", "技术领域", "标签", "TRL", "转化方式", "价格", "专利号"]


def row(i: int, **changes) -> list[str]:
    values = {
        "标题": f"高原冻土监测系统{i}",
        "简介": "光纤传感监测冻土温度与形变",
        "详细描述": "用于青藏公路路基与光伏电站基础的长期监测。",
        "技术领域": "电子信息",
        "标签": "信息化、生态环保",
        "TRL": "7",
        "转化方式": "许可",
        "价格": "80万",
        "专利号": make_patent_number("201810123456"),
    }
    values.update(changes)
    return [values[h] for h in HEADERS]


def upload(rows: list[list[str]], name: str = "成果.csv") -> SimpleUploadedFile:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode("utf-8-sig"), content_type="text/csv")


def post(client, organisation, file, *, kind="technology", dry_run=False):
    data = {"organisation": organisation.pk, "kind": kind, "file": file}
    if dry_run:
        data["dry_run"] = "on"
    return client.post(reverse("imports:start"), data)


def test_the_page_needs_a_login(client):
    response = client.get(reverse("imports:start"))

    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_members_who_are_not_owners_and_outsiders_get_403(client, university):
    member = member_of(university, role="member", username="member")
    outsider = UserFactory(username="outsider")
    for user in (member, outsider):
        client.force_login(user)
        assert client.get(reverse("imports:start")).status_code == 403
        assert post(client, university, upload([row(1)])).status_code == 403
    assert not ImportJob.objects.exists() and not Technology.objects.exists()


def test_an_owner_cannot_import_into_an_organisation_they_do_not_own(client, seller, enterprise):
    client.force_login(seller)

    response = post(client, enterprise, upload([row(1)]))

    assert response.status_code == 403
    assert not ImportJob.objects.exists() and not Technology.objects.exists()


def test_the_owner_sees_the_form_with_only_their_organisations(client, seller, university, enterprise):
    client.force_login(seller)

    response = client.get(reverse("imports:start"))

    assert response.status_code == 200
    html = response.content.decode()
    assert university.name in html and enterprise.name not in html
    assert reverse("imports:template", args=["technology"]) in html


def test_an_owner_imports_a_file_and_sees_the_result(client, seller, university):
    client.force_login(seller)

    response = post(client, university, upload([row(1), row(2)]))

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("imports:job", args=[job.pk])
    assert (job.status, job.created_count, job.total_rows, job.processed_rows) == ("done", 2, 2, 2)
    assert job.user == seller and job.organisation == university
    assert Technology.objects.filter(organisation=university, created_by=seller, status="draft").count() == 2

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "新建 2 条草稿" in page.content.decode()


def test_the_status_json_reports_progress_and_the_result(client, seller, university):
    client.force_login(seller)
    post(client, university, upload([row(i) for i in range(3)]))
    job = ImportJob.objects.get()

    status = client.get(reverse("imports:job_status", args=[job.pk])).json()

    assert status["status"] == "done" and status["finished"] is True
    assert (status["processed"], status["total"], status["percent"], status["created"]) == (3, 3, 100, 3)
    assert "3" in status["message"]


def test_a_queued_job_shows_its_progress_while_it_runs(client, seller, university):
    """What a worker on the database backend would leave between two polls."""
    job = ImportJob.objects.create(
        organisation=university, user=seller, kind="technology", file_name="a.csv", total_rows=1000, processed_rows=400
    )
    job.status = ImportJob.Status.RUNNING
    job.save()
    client.force_login(seller)

    status = client.get(reverse("imports:job_status", args=[job.pk])).json()
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()

    assert (status["finished"], status["percent"], status["processed"]) == (False, 40, 400)
    assert "400 / 1000" in status["message"]
    assert 'style="width: 40%"' in page and "data-status-url" in page


def test_a_bad_file_lists_every_error_and_saves_nothing(client, seller, university):
    client.force_login(seller)
    rows = [row(1), row(2, 价格="很贵"), row(3), row(4, 专利号="ZL201810123456.0", 技术领域="量子")]

    post(client, university, upload(rows))

    job = ImportJob.objects.get()
    assert job.status == "failed" and job.created_count == 0
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "price_cny"), (5, "field"), (5, "patent")]
    assert not Technology.objects.exists()
    html = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "3 处错误" in html and "第3行" in html and "第5行" in html and "价格" in html and "校验位" in html


def test_a_dry_run_on_the_page_saves_nothing(client, seller, university):
    client.force_login(seller)

    post(client, university, upload([row(1)]), dry_run=True)

    job = ImportJob.objects.get()
    assert job.status == "done" and job.dry_run and job.created_count == 0 and job.total_rows == 1
    assert not Technology.objects.exists()
    assert "未保存" in client.get(reverse("imports:job", args=[job.pk])).content.decode()


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (SimpleUploadedFile("成果.pdf", b"%PDF-1.4"), "只支持"),
        (SimpleUploadedFile("成果.csv", b""), "空"),
    ],
)
def test_files_refused_before_queueing_are_form_errors(client, seller, university, file, message):
    client.force_login(seller)

    response = post(client, university, file)

    assert response.status_code == 400 and message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_oversize_upload_is_a_form_error(client, seller, university, settings):
    settings.IMPORT_MAX_BYTES = 100
    client.force_login(seller)

    response = post(client, university, upload([row(i) for i in range(5)]))

    assert response.status_code == 400 and "文件过大" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_missing_kind_or_file_is_a_form_error(client, seller, university):
    client.force_login(seller)

    response = client.post(reverse("imports:start"), {"organisation": university.pk})

    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {"kind", "file"}


def test_other_users_cannot_see_a_job(client, seller, university, buyer):
    client.force_login(seller)
    post(client, university, upload([row(1)]))
    job = ImportJob.objects.get()
    client.force_login(buyer)

    assert client.get(reverse("imports:job", args=[job.pk])).status_code == 403
    assert client.get(reverse("imports:job_status", args=[job.pk])).status_code == 403
    assert client.get(reverse("imports:job", args=[job.pk + 1])).status_code == 404


def test_a_job_runs_once_even_if_the_task_is_delivered_twice(client, seller, university):
    client.force_login(seller)
    post(client, university, upload([row(1)]))
    job = ImportJob.objects.get()

    again = import_job_run(job_id=job.pk)

    assert again.status == "done" and Technology.objects.count() == 1


def test_a_crash_inside_the_job_ends_as_a_failed_job_with_a_message(client, seller, university):
    client.force_login(seller)
    post(client, university, upload([row(1)]), dry_run=True)
    job = ImportJob.objects.get()
    job.file.delete(save=False)  # e.g. the worker's machine cannot see the shared volume
    ImportJob.objects.filter(pk=job.pk).update(status="queued")

    job = import_job_run(job_id=job.pk)

    assert job.status == "failed" and "内部错误" in job.errors[0]["message"]
    assert not Technology.objects.exists()


@pytest.mark.parametrize("kind", ["technology", "need"])
def test_the_template_files_download_and_import_back(client, seller, university, kind):
    response = client.get(reverse("imports:template", args=[kind]))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf") and "标题" in response.content.decode("utf-8-sig")
    assert response.content == template_csv(kind)

    client.force_login(seller)
    post(client, university, SimpleUploadedFile(f"{kind}.csv", response.content), kind=kind)
    job = ImportJob.objects.get()
    assert job.status == "done" and job.created_count == 1


def test_an_unknown_template_is_404(client):
    assert client.get(reverse("imports:template", args=["contract"])).status_code == 404
