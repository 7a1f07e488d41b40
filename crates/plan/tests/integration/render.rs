//! The renderers: the HTML report is well-formed, self-contained, escaped and holds every
//! cell; the table and JSON are deterministic.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeSet;

use amiref_core::ImageUsage;
use amiref_plan::{ImageSignal, Plan, PlanInputs, UsageFile, plan, render_html, render_table};
use common::{image, monthly_model, now, template, usage};

fn sample_inputs() -> PlanInputs {
    PlanInputs::new(now())
        .template(template("python-ml", "30m"))
        .template(template("r-studio", "20m"))
        .template(template("tiny", "1m"))
        .usage(usage(&[
            ("python-ml", "us-east-1", 200.0),
            ("python-ml", "eu-west-1", 50.0),
            ("python-ml", "ap-south-1", 0.5),
            ("r-studio", "eu-west-1", 80.0),
            ("tiny", "us-east-1", 3.0),
        ]))
        // A usage file whose name needs escaping, naming an unknown template: a note.
        .usage(UsageFile::new(
            "odd <name> & \"quotes\".yml",
            vec![amiref_plan::UsageEntry::new(
                "ghost",
                "us-east-1".parse().unwrap(),
                1.0,
            )],
        ))
        .images([ImageSignal::new(
            image("ami-00000000000000002", "python-ml", "sa-east-1", 8),
            Ok(ImageUsage::default()),
        )])
}

fn sample_plan() -> Plan {
    plan(&sample_inputs().regions(regions()), &monthly_model())
}

fn regions() -> Vec<amiref_core::Region> {
    [
        "us-east-1",
        "eu-west-1",
        "ap-south-1",
        "sa-east-1",
        "us-west-2",
    ]
    .iter()
    .map(|r| r.parse().unwrap())
    .collect()
}

#[test]
fn the_html_report_is_well_formed_and_holds_every_cell() {
    let plan = sample_plan();
    let html = render_html(&plan);
    let doc = roxmltree::Document::parse(&html).unwrap_or_else(|e| panic!("{e}\n{html}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "html");

    let cells: Vec<_> = doc
        .descendants()
        .filter(|n| {
            n.has_tag_name("td") && n.attribute("class").is_some_and(|c| c.starts_with("cell "))
        })
        .collect();
    assert_eq!(cells.len(), plan.rows.len() * plan.regions.len());
    let found: BTreeSet<(String, String, String)> = cells
        .iter()
        .map(|n| {
            let a = |k| n.attribute(k).unwrap().to_owned();
            (a("data-template"), a("data-architecture"), a("data-region"))
        })
        .collect();
    for row in &plan.rows {
        for cell in &row.cells {
            let key = (
                row.template.clone(),
                row.architecture.to_string(),
                cell.region.to_string(),
            );
            assert!(found.contains(&key), "{key:?} missing");
            // The cell shows its decision and its figures.
            let node = cells
                .iter()
                .find(|n| {
                    n.attribute("data-template") == Some(&key.0)
                        && n.attribute("data-region") == Some(&key.2)
                })
                .unwrap();
            let text: String = node.descendants().filter_map(|d| d.text()).collect();
            assert!(text.contains(&cell.decision.to_string()), "{text}");
            assert!(text.contains('$'), "{text}");
            let class = node.attribute("class").unwrap();
            let expected = match cell.decision {
                amiref_plan::Decision::BuildHere => "d-build",
                amiref_plan::Decision::CopyFromNearest { .. } => "d-copy",
                amiref_plan::Decision::OnDemandCopy { .. } => "d-on-demand",
                _ => "d-script",
            };
            assert!(class.contains(expected), "{class}");
        }
    }
}

#[test]
fn the_html_report_is_self_contained_and_escaped() {
    let html = render_html(&sample_plan());
    let doc = roxmltree::Document::parse(&html).unwrap();
    for node in doc.descendants().filter(|n| n.is_element()) {
        let name = node.tag_name().name();
        assert!(
            !["script", "link", "img", "iframe", "object", "embed"].contains(&name),
            "{name}"
        );
        for attr in node.attributes() {
            assert!(
                !(attr.name() == "src" || attr.name() == "href" || attr.name().starts_with("on")),
                "{}",
                attr.name()
            );
        }
    }
    assert!(!html.contains("url("), "no external resources in the CSS");
    // The odd file name is shown as text, escaped.
    assert!(html.contains("odd &lt;name&gt; &amp; &quot;quotes&quot;.yml"));
    let text: String = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(text.contains("odd <name> & \"quotes\".yml"));
    // A legend and the model's inputs.
    assert!(text.contains("Legend") && text.contains("Model inputs"));
    assert!(text.contains("snapshot storage"));
}

#[test]
fn plans_are_the_same_whatever_the_order_of_the_inputs() {
    let forward = sample_plan();
    let mut reversed = sample_inputs().regions(regions().into_iter().rev());
    reversed.templates.reverse();
    reversed.usage.reverse();
    let reversed = plan(&reversed, &monthly_model());
    assert_eq!(
        serde_json::to_string(&forward).unwrap(),
        serde_json::to_string(&reversed).unwrap()
    );
    assert_eq!(render_table(&forward), render_table(&reversed));
    assert_eq!(render_html(&forward), render_html(&reversed));
    let templates: Vec<&str> = forward.rows.iter().map(|r| r.template.as_str()).collect();
    assert_eq!(templates, ["python-ml", "r-studio", "tiny"]);
    let mut sorted = forward.regions.clone();
    sorted.sort();
    assert_eq!(forward.regions, sorted);
}

#[test]
fn the_table_lists_kept_cells_totals_retirements_and_inputs() {
    let table = render_table(&sample_plan());
    assert!(
        table.contains("python-ml  x86_64  us-east-1  build here"),
        "{table}"
    );
    assert!(table.contains("copy from us-east-1"), "{table}");
    assert!(table.contains("Retire (cost exceeds benefit):"), "{table}");
    assert!(table.contains("ami-00000000000000002"), "{table}");
    assert!(table.contains("Model inputs:"), "{table}");
}

#[test]
fn the_plan_has_a_json_schema() {
    let schema = schemars::schema_for!(Plan);
    let text = serde_json::to_string(&schema).unwrap();
    for key in [
        "saving_usd_per_month",
        "cost_usd_per_month",
        "decision",
        "retire",
    ] {
        assert!(text.contains(key), "{key}");
    }
}
