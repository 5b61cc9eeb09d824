from django.shortcuts import render


def home(request):
    return render(request, "home.html", {})


def healthz(request):
    from django.http import JsonResponse

    return JsonResponse({"ok": True})
