"""Background tasks of messaging (django-tasks: the database backend in production, immediate in tests)."""

from django_tasks import task


@task()
def send_offline_notifications_task() -> int:
    from .services import send_offline_notifications

    return send_offline_notifications()
