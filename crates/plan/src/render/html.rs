//! The plan as one self-contained HTML page: inline CSS, no scripts, no external resources,
//! every text escaped. It is also well-formed XML (XHTML syntax), so any XML parser can
//! check it.

use std::fmt::Write;

use amiref_core::escape_html;

use super::{launch_source, launches, retire_block, size, time, usd};
use crate::{Decision, Plan, PlanCell};

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1a1a1a; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.5em; vertical-align: top; font-size: 0.85em; }
th { background: #f0f0f0; text-align: left; }
td.cell div.decision { font-weight: 600; }
.d-build { background: #1b7837; color: #fff; }
.d-copy { background: #a6dba0; }
.d-on-demand { background: #fee08b; }
.d-script { background: #f4f4f4; color: #555; }
ul.legend { list-style: none; padding: 0; }
ul.legend li { margin: 0.2em 0; }
span.swatch { display: inline-block; width: 1.2em; height: 1em; margin-right: 0.5em; border: 1px solid #888; vertical-align: middle; }
";

/// The CSS class of a decision.
fn class(decision: &Decision) -> &'static str {
    match decision {
        Decision::BuildHere => "d-build",
        Decision::CopyFromNearest { .. } => "d-copy",
        Decision::OnDemandCopy { .. } => "d-on-demand",
        Decision::Script => "d-script",
    }
}

/// The plan as a self-contained HTML page: a template × region matrix coloured by
/// decision with each cell's monthly saving and cost, a legend, the totals, each
/// template's figures, the proposed retirements, the notes and the model's inputs.
pub fn render_html(plan: &Plan) -> String {
    let mut out = String::with_capacity(1024 + plan.rows.len() * plan.regions.len() * 320);
    out.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>amiref pre-build plan</title>\n<style>");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<h1>amiref pre-build plan</h1>\n");
    let _ = writeln!(
        out,
        "<p>Made at {}. Figures are per month (730 hours), in US dollars.</p>",
        escape_html(&plan.generated_at.to_rfc3339())
    );
    totals(&mut out, plan);
    legend(&mut out);
    matrix(&mut out, plan);
    templates(&mut out, plan);
    retirements(&mut out, plan);
    list(&mut out, "Notes", &plan.notes);
    let skipped: Vec<String> = plan
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.template, s.reason))
        .collect();
    list(&mut out, "Templates left out", &skipped);
    list(&mut out, "Model inputs", &plan.model.stated);
    out.push_str("</body>\n</html>\n");
    out
}

fn totals(out: &mut String, plan: &Plan) {
    let t = &plan.totals;
    out.push_str("<h2>Totals</h2>\n<table class=\"totals\">\n");
    let rows = [
        ("Build here", t.build_count.to_string()),
        ("Copy from nearest", t.copy_count.to_string()),
        ("On-demand copy", t.on_demand_count.to_string()),
        ("Script", t.script_count.to_string()),
        ("Saving a month", usd(t.saving_usd_per_month)),
        ("Cost a month", usd(t.cost_usd_per_month)),
        ("Net a month", usd(t.net_usd_per_month)),
        ("Images to retire", t.retire_count.to_string()),
        ("Their cost a month", usd(t.retire_cost_usd_per_month)),
    ];
    for (name, value) in rows {
        let _ = writeln!(
            out,
            "<tr><th>{name}</th><td>{}</td></tr>",
            escape_html(&value)
        );
    }
    out.push_str("</table>\n");
}

fn legend(out: &mut String) {
    out.push_str("<h2>Legend</h2>\n<ul class=\"legend\">\n");
    let entries = [
        (
            "d-build",
            "build here: the template's home (most launches, or configured), built and refreshed here",
        ),
        (
            "d-copy",
            "copy: a copy kept here, from the nearest region holding the image (named)",
        ),
        (
            "d-on-demand",
            "on-demand copy: nothing kept; the resolver copies from the named region when a launch asks",
        ),
        (
            "d-script",
            "script: no pre-built image saves more than it costs; launches run the template's script",
        ),
    ];
    for (class, text) in entries {
        let _ = writeln!(
            out,
            "<li><span class=\"swatch {class}\"></span>{}</li>",
            escape_html(text)
        );
    }
    out.push_str("</ul>\n");
}

fn matrix(out: &mut String, plan: &Plan) {
    out.push_str(
        "<h2>Template × region</h2>\n<table class=\"matrix\">\n<thead><tr><th>template</th>",
    );
    for region in &plan.regions {
        let _ = write!(out, "<th>{}</th>", escape_html(region.as_str()));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &plan.rows {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}<br/>{}</th>",
            escape_html(&row.template),
            escape_html(row.architecture.as_str())
        );
        for c in &row.cells {
            cell(out, &row.template, row.architecture.as_str(), c);
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn cell(out: &mut String, template: &str, arch: &str, c: &PlanCell) {
    let (saving, cost) = if c.decision == Decision::Script {
        (
            c.prebuilt_saving_usd_per_month,
            c.prebuilt_cost_usd_per_month,
        )
    } else {
        (c.saving_usd_per_month, c.cost_usd_per_month)
    };
    let prefix = if c.decision == Decision::Script {
        "an image would "
    } else {
        ""
    };
    let _ = write!(
        out,
        "<td class=\"cell {}\" data-template=\"{}\" data-architecture=\"{}\" data-region=\"{}\" title=\"{}\"><div class=\"decision\">{}</div><div>{prefix}save {}</div><div>{prefix}cost {}</div><div>{} launches</div></td>",
        class(&c.decision),
        escape_html(template),
        escape_html(arch),
        escape_html(c.region.as_str()),
        escape_html(&launch_source(&c.launches_source)),
        escape_html(&c.decision.to_string()),
        escape_html(&usd(saving)),
        escape_html(&usd(cost)),
        escape_html(&launches(c.monthly_launch_count)),
    );
}

fn templates(out: &mut String, plan: &Plan) {
    out.push_str("<h2>Templates</h2>\n<table class=\"templates\">\n<thead><tr><th>template</th><th>architecture</th><th>instance type</th><th>home</th><th>script time</th><th>image time</th><th>image size</th><th>copy time</th></tr></thead>\n<tbody>\n");
    for row in &plan.rows {
        let cells = [
            row.template.clone(),
            row.architecture.to_string(),
            row.instance_type
                .as_ref()
                .map_or("none".to_owned(), ToString::to_string),
            row.home
                .as_ref()
                .map_or("not built".to_owned(), ToString::to_string),
            time(&row.script_time),
            time(&row.image_time),
            size(&row.image_size),
            format!("{:.0}s", row.copy_time_secs),
        ];
        out.push_str("<tr>");
        for text in cells {
            let _ = write!(out, "<td>{}</td>", escape_html(&text));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn retirements(out: &mut String, plan: &Plan) {
    if plan.retire.is_empty() {
        return;
    }
    out.push_str("<h2>Images to retire</h2>\n<table class=\"retire\">\n<thead><tr><th>template</th><th>region</th><th>image</th><th>decision</th><th>benefit</th><th>cost</th><th>kept because</th></tr></thead>\n<tbody>\n");
    for p in &plan.retire {
        let cells = [
            p.template.clone(),
            p.region.to_string(),
            p.image.to_string(),
            p.decision.to_string(),
            usd(p.benefit_usd_per_month),
            usd(p.cost_usd_per_month),
            p.blocked.as_ref().map_or(String::new(), retire_block),
        ];
        out.push_str("<tr>");
        for text in cells {
            let _ = write!(out, "<td>{}</td>", escape_html(&text));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn list(out: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2>{}</h2>\n<ul>", escape_html(title));
    for item in items {
        let _ = writeln!(out, "<li>{}</li>", escape_html(item));
    }
    out.push_str("</ul>\n");
}
