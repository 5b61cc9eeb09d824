"""The turnover dashboard (统计), its CSV/XLSX exports and the bureau's yearly figures.

What is public: the aggregate figures (totals, breakdowns, targets) — the city publishes them.
What is the bureau's: the top sellers and buyers (named parties and their amounts) and entering figures.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from marketplace.accounts.services import require_bureau

from . import exports, selectors, services
from .forms import TurnoverFilterForm, YearFiguresForm
from .models import Indicator
from .selectors import DIMENSIONS


def _is_bureau(user) -> bool:
    return bool(user.is_authenticated and user.is_bureau)


def _dashboard_or_errors(request):
    form = TurnoverFilterForm(request.GET)
    if not form.is_valid():
        return form, None
    dashboard = selectors.turnover_dashboard(filters=form.filters(), include_parties=_is_bureau(request.user))
    return form, dashboard


def dashboard(request):
    form, data = _dashboard_or_errors(request)
    if data is None:
        return render(request, "stats/dashboard.html", {"form": form}, status=400)
    sections = {s.key: s for s in exports.dashboard_sections(data)}
    charts = {
        name: {
            "labels": [f.label for f in data.breakdowns[name]],
            "amounts": [str(f.contract_amount) for f in data.breakdowns[name]],
            "tech": [str(f.tech_amount) for f in data.breakdowns[name]],
        }
        for name in DIMENSIONS
    }
    context = {
        "form": form,
        "data": data,
        "sections": sections,
        "breakdown_sections": [sections[name] for name in DIMENSIONS],
        "charts": charts,
        "query": "&".join(f"{k}={v}" for k, v in data.filters.as_query().items()),
        "is_bureau": _is_bureau(request.user),
        # Paid vs contracted (issue 7): the ledger's figures, for the bureau only.
        "payments": _paid_vs_contracted(data.filters.year) if _is_bureau(request.user) else None,
    }
    return render(request, "stats/dashboard.html", context)


def _paid_vs_contracted(year: int) -> dict:
    from decimal import Decimal

    from marketplace.payments.selectors import paid_vs_contracted

    figures = paid_vs_contracted(year=year)
    base = figures["contracted"]
    share = (figures["paid"] * 100 / base).quantize(Decimal("0.1")) if base else None
    return {**figures, "share": share}


def _export(request, *, kind: str):
    form, data = _dashboard_or_errors(request)
    if data is None:
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return HttpResponse(
            _("筛选条件有误:%(errors)s") % {"errors": errors}, status=400, content_type="text/plain; charset=utf-8"
        )
    stem = f"turnover-{data.filters.year}"
    if data.filters.quarter:
        stem += f"-q{data.filters.quarter}"
    if data.filters.month:
        stem += f"-{data.filters.month:02d}"
    if kind == "csv":
        response = HttpResponse(exports.to_csv(data), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            exports.to_xlsx(data), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    response["Content-Disposition"] = f'attachment; filename="{stem}.{kind}"'
    return response


def export_csv(request):
    return _export(request, kind="csv")


def export_xlsx(request):
    return _export(request, kind="xlsx")


@login_required
def figures(request):
    require_bureau(request.user)
    year = request.GET.get("year") or request.POST.get("year") or selectors.default_year()
    try:
        year = int(year)
    except (TypeError, ValueError):
        year = selectors.default_year()
    if request.method == "POST":
        form = YearFiguresForm(request.POST)
        if form.is_valid():
            try:
                services.year_figures_save(year=form.cleaned_data["year"], by=request.user, values=form.values())
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, _("%(year)d 年统计指标已保存") % {"year": form.cleaned_data["year"]})
                return redirect(f"{request.path}?year={form.cleaned_data['year']}")
        status = 400
    else:
        current = selectors.year_figures(year=year)
        form = YearFiguresForm(
            initial={"year": year, **{code: f"{current[code]:f}" for code in Indicator.values if code in current}}
        )
        status = 200
    return render(request, "stats/figures.html", {"form": form, "year": year}, status=status)
