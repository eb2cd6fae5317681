//! The figures page: how an organisation's cases are handled.

use super::*;

#[derive(Template)]
#[template(path = "cases/figures.html")]
pub(super) struct FiguresPage {
    pub(super) l: Layout,
    pub(super) rows: Vec<OrgFigures>,
    /// The street's totals.
    pub(super) street: OrgFigures,
    /// The periods offered: link, label, chosen.
    pub(super) periods: Vec<(String, &'static str, bool)>,
    /// Satisfaction measured outside the cases (other areas', through `hooks::on_figures`).
    pub(super) outside: Vec<crate::cases::hooks::OutsideRating>,
    /// Self-governed matters apart (留白).
    pub(super) governed: Option<crate::cases::figures::SelfGovernedFigures>,
    /// How routing fared per category (the street's dispatchers).
    pub(super) routing: Vec<crate::cases::figures::RoutingFigures>,
    /// Joint handling per co-handling organisation.
    pub(super) tasks: Vec<crate::cases::tasks::TaskFigures>,
}

impl FiguresPage {
    pub(super) fn pct(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{:.0}%", x * 100.0))
            .unwrap_or_else(|| "—".into())
    }
    pub(super) fn num(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{x}")).unwrap_or_else(|| "—".into())
    }
    pub(super) fn cat_name(&self, r: &crate::cases::figures::RoutingFigures) -> String {
        if self.l.t.0 == crate::kernel::i18n::Lang::En {
            r.category_name_en.clone()
        } else {
            r.category_name_zh.clone()
        }
    }
    pub(super) fn ends(&self, r: &crate::cases::figures::RoutingFigures) -> String {
        r.ended_at
            .iter()
            .map(|e| format!("{} {}", e.org_name, e.cases))
            .collect::<Vec<_>>()
            .join(self.l.t.s("case.list_sep"))
    }
    pub(super) fn source(&self, s: &str) -> String {
        crate::kernel::i18n::pick(s, self.l.t.0)
    }
}

pub(super) async fn figures_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<crate::cases::http::FiguresQuery>,
) -> AppResult<Response> {
    let since = q.since(crate::store::now_ms())?;
    let report = crate::cases::figures::for_caller(&state, &caller, since).await?;
    let t = Tr(ctx().lang);
    let periods = [
        (Some(7), "case.page.days7"),
        (Some(30), "case.page.days30"),
        (Some(90), "case.page.days90"),
        (None, "case.page.all_time"),
    ]
    .into_iter()
    .map(|(d, key)| {
        let href = match d {
            Some(d) => format!("/cases/figures?days={d}"),
            None => "/cases/figures".to_string(),
        };
        (href, t.s(key), d == q.days)
    })
    .collect();
    Ok(render(
        &FiguresPage {
            l: Layout::new(Some(&caller)),
            rows: report.organisations,
            street: report.street,
            periods,
            outside: report.outside,
            governed: report.self_governed,
            routing: report.routing,
            tasks: report.tasks,
        },
        StatusCode::OK,
    ))
}
