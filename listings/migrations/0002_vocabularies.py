from django.db import migrations

TAGS = ["health", "tourism", "clean_energy", "ecology", "agri_pastoral", "digital", "livelihood"]
MODES = ["transfer", "license", "equity", "co_develop", "service", "consulting"]


def seed(apps, schema_editor):
    Tag = apps.get_model("listings", "Tag")
    TransferMode = apps.get_model("listings", "TransferMode")
    for code in TAGS:
        Tag.objects.get_or_create(code=code)
    for code in MODES:
        TransferMode.objects.get_or_create(code=code)


class Migration(migrations.Migration):
    dependencies = [("listings", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
