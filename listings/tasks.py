"""Background tasks of listings (django-tasks: the database backend in production, immediate in tests)."""

from django_tasks import task


@task()
def run_import_job(job_id: int) -> dict:
    from .imports import import_job_run

    job = import_job_run(job_id=job_id)
    return {"status": job.status, "created": job.created_count}
