"""Messaging pages: conversation list (消息), a conversation with live chat, starting one from a listing,
attachments, notifications. Each view parses input, calls one service or selector, renders.

Non-participants get 404 (not 403), so a conversation's existence is not revealed.
"""

import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from listings import selectors as listing_selectors
from listings.forms import add_service_errors
from listings.models import Need, Technology

from . import selectors, services
from .forms import AttachmentForm, InviteForm, MessageForm, StartForm, new_client_msg_id
from .models import Conversation, Message, Notification

NOTIFICATIONS_PAGE = 30


def _conversation(request, pk: int) -> Conversation:
    try:
        return selectors.conversation_get(pk=pk, user=request.user)
    except Conversation.DoesNotExist:
        raise Http404(_("洽谈不存在,或您不是参与方"))


@login_required
def conversation_list(request):
    conversations = selectors.conversation_list(user=request.user)
    page = Paginator(conversations, 30).get_page(request.GET.get("page"))
    return render(request, "messaging/conversation_list.html", {"page": page})


# ---------------------------------------------------------------- starting a conversation


def _listing(model, pk, user):
    if not pk:
        return None
    try:
        if model is Technology:
            return listing_selectors.technology_detail(pk=pk, user=user)
        return listing_selectors.need_detail(pk=pk, user=user)
    except model.DoesNotExist:
        raise Http404(_("要洽谈的成果或需求不存在"))


@login_required
def start(request):
    """From a listing's "联系对方": start or reopen the conversation, asking which organisation if needed."""
    data = request.POST if request.method == "POST" else request.GET
    probe = StartForm(data)
    if not probe.is_valid():
        return render(request, "messaging/start.html", {"form": probe}, status=400)
    technology = _listing(Technology, probe.cleaned_data.get("technology"), request.user)
    need = _listing(Need, probe.cleaned_data.get("need"), request.user)
    other_side = technology.organisation if technology is not None else need.organisation
    organisations = list(selectors.starter_organisations(user=request.user, exclude=other_side))
    form = StartForm(data, organisations=organisations)
    context = {"form": form, "technology": technology, "need": need, "organisations": organisations}
    if not form.is_valid():
        return render(request, "messaging/start.html", context, status=400)
    if request.method != "POST":
        return render(request, "messaging/start.html", context)
    chosen = form.cleaned_data.get("organisation")
    organisation = next((o for o in organisations if o.pk == chosen), None) if chosen else None
    try:
        conversation, created = services.conversation_start(
            by=request.user, technology=technology, need=need, organisation=organisation
        )
    except ValidationError as exc:
        add_service_errors(form, exc, default_field="organisation" if organisations else None)
        context["choose"] = getattr(exc, "code", "") == "choose_organisation"
        return render(request, "messaging/start.html", context, status=400)
    except PermissionDenied as exc:
        form.add_error(None, str(exc))
        return render(request, "messaging/start.html", context, status=403)
    if created:
        messages.success(request, _("已创建洽谈,请留言说明您的需求"))
    return redirect("messaging:conversation", pk=conversation.pk)


# ---------------------------------------------------------------- a conversation


def _conversation_context(request, conversation: Conversation, **forms) -> dict:
    page, more = selectors.messages_page(conversation=conversation, before=_int(request.GET.get("before")))
    receipts = selectors.read_receipts(conversation=conversation)
    agencies = list(selectors.invitable_agencies(conversation=conversation))
    live = {
        "conversation": conversation.pk,
        "user": request.user.pk,
        "last_id": page[-1].pk if page else 0,
        "first_id": page[0].pk if page else 0,
        "more": more,
        "history_url": reverse("messaging_api:conversation-messages", kwargs={"pk": conversation.pk}),
        "receipts": {str(r.user_id): r.last_read_id for r in receipts},
        "max_length": MessageForm.base_fields["text"].max_length,
    }
    return {
        "conversation": conversation,
        "chat_messages": page,
        "more": more,
        "receipts": [r for r in receipts if r.user_id != request.user.pk],
        "participants": list(conversation.participants.all()),
        "live": live,
        "form": forms.get("form") or MessageForm(),
        "attachment_form": forms.get("attachment_form") or AttachmentForm(),
        "invite_form": forms.get("invite_form") or (InviteForm(agencies=agencies) if agencies else None),
    }


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


@login_required
def conversation(request, pk: int):
    """The chat page. GET marks the conversation read; POST (without JavaScript) sends a message."""
    conv = _conversation(request, pk)
    if request.method == "POST":
        form = MessageForm(request.POST)
        if form.is_valid():
            try:
                services.message_send(
                    conversation=conv,
                    by=request.user,
                    client_msg_id=form.cleaned_data["client_msg_id"],
                    text=form.cleaned_data["text"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc, default_field="text")
            else:
                return redirect(f"{reverse('messaging:conversation', kwargs={'pk': conv.pk})}#composer")
        context = _conversation_context(request, conv, form=_fresh_id(form))
        return render(request, "messaging/conversation.html", context, status=400)
    services.conversation_mark_read(conversation=conv, by=request.user)
    return render(request, "messaging/conversation.html", _conversation_context(request, conv))


def _fresh_id(form):
    """A refused message was not stored: the corrected resend may keep its id (same text), which is harmless."""
    if not form.data.get("client_msg_id"):
        form.data = form.data.copy()
        form.data["client_msg_id"] = new_client_msg_id()
    return form


@login_required
@require_POST
def attach(request, pk: int):
    conv = _conversation(request, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.message_send(
                conversation=conv,
                by=request.user,
                client_msg_id=form.cleaned_data["client_msg_id"],
                text=form.cleaned_data["text"],
                upload=form.cleaned_data["file"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc, default_field="file")
        else:
            messages.success(request, _("附件已发送"))
            return redirect(f"{reverse('messaging:conversation', kwargs={'pk': conv.pk})}#composer")
    context = _conversation_context(request, conv, attachment_form=_fresh_id(form))
    return render(request, "messaging/conversation.html", context, status=400)


@login_required
@require_POST
def invite(request, pk: int):
    conv = _conversation(request, pk)
    agencies = list(selectors.invitable_agencies(conversation=conv))
    form = InviteForm(request.POST, agencies=agencies)
    if form.is_valid():
        agency = next(o for o in agencies if o.pk == form.cleaned_data["organisation"])
        try:
            services.conversation_invite(conversation=conv, organisation=agency, by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc, default_field="organisation")
        else:
            messages.success(request, _("已邀请「%(name)s」参与洽谈") % {"name": agency.name})
            return redirect("messaging:conversation", pk=conv.pk)
    context = _conversation_context(request, conv, invite_form=form)
    return render(request, "messaging/conversation.html", context, status=400)


def _attachment_file(request, pk: int, thumb: bool):
    try:
        message = Message.objects.select_related("conversation").get(pk=pk)
    except Message.DoesNotExist:
        raise Http404(_("附件不存在"))
    if not selectors.is_participant(conversation_id=message.conversation_id, user=request.user):
        raise Http404(_("附件不存在"))
    field = message.attachment_thumb if thumb else message.attachment
    if not field:
        raise Http404(_("附件不存在"))
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404(_("附件文件已丢失"))
    content_type = "application/pdf" if message.attachment_kind == Message.AttachmentKind.PDF else None
    content_type = content_type or mimetypes.guess_type(field.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type, filename=message.attachment_name or None)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
def attachment(request, pk: int):
    return _attachment_file(request, pk, thumb=False)


@login_required
def attachment_thumb(request, pk: int):
    return _attachment_file(request, pk, thumb=True)


# ---------------------------------------------------------------- notifications


@login_required
def notifications(request):
    if request.method == "POST":
        count = services.notifications_mark_read(user=request.user)
        messages.success(request, _("已将 %(count)d 条通知标为已读") % {"count": count})
        return redirect("messaging:notifications")
    page = Paginator(selectors.notification_list(user=request.user), NOTIFICATIONS_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "messaging/notifications.html", {"page": page, "kinds": Notification.Kind})


@login_required
@require_POST
def notification_open(request, pk: int):
    notification = selectors.notification_list(user=request.user).filter(pk=pk).first()
    if notification is None:
        raise Http404(_("通知不存在"))
    services.notifications_mark_read(user=request.user, ids=[pk])
    target = notification.url
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("messaging:notifications")
