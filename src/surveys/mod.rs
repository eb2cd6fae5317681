//! Surveys (问卷, issue 22 part 2), kept small: single and multiple choice, free text and a 1–5
//! scale; an audience chosen as for notices (places, tags, households, roles) and frozen at
//! publication; one answer per account; an anonymous survey keeps its answers without who gave
//! them (and says so on the form); results as SVG bar charts and XLSX. A community's
//! satisfaction survey (社区满意度调查) is written from a template in one click, and its scale
//! answers are shown beside the case ratings on the case figures (through
//! `cases::hooks::on_figures`, registered in `app::wire`). Where a street already uses another
//! survey tool, a notice carries its link; linli does not try to be a survey product.
//!
//! Stands on org (accounts, the scope), registry (names, masked), notices (the audience and its
//! reach, `notices::service::resolve`), cases (the figures' hook) and audit.

pub mod demo;
pub mod http;
pub mod jobs;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;

pub use model::{Kind, Question, QuestionKind, State, Survey};
pub use service::satisfaction_ratings;

use crate::http::area::{Area, Nav};
use crate::org::Caller;

/// What the surveys area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::SurveysApi as utoipa::OpenApi>::openapi,
        jobs: jobs::jobs,
        nav: &[Nav {
            order: 46,
            href: "/surveys",
            id: "nav-surveys",
            label: "surveys.nav",
            shown: |_: &Caller| true,
        }],
        cards: |s, c| Box::pin(pages::cards(s, c)),
        ..Area::new("surveys", || http::router().merge(pages::router()))
    }
}
