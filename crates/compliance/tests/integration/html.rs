//! The HTML report, parsed: well-formed, self-contained, a summary row per control with a
//! cell per region, every finding, and hostile values from the cloud escaped.
#![allow(clippy::unwrap_used)]

use amiref_compliance::{ControlId, Scanner, render_html};
use amiref_core::{AccountId, Architecture, Image, LaunchPermission, Region};
use amiref_memory::{DEFAULT_CALLER, ImageSeed, MemoryCloud};
use amiref_strategies::TrustPolicy;
use chrono::{Duration, TimeZone, Utc};

const HOSTILE: &str = "<script>alert('x')</script> & \"quoted\" \u{1b}[31m";

fn cloud() -> MemoryCloud {
    let start = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let me = AccountId::new(DEFAULT_CALLER).unwrap();
    let mut builder = MemoryCloud::builder().start(start);
    for (n, region) in ["us-east-1", "eu-west-1"].into_iter().enumerate() {
        let region: Region = region.parse().unwrap();
        let mut image = Image::new(
            format!("ami-{:017x}", n + 1).parse().unwrap(),
            region,
            HOSTILE,
            me.clone(),
            Architecture::X86_64,
            start - Duration::days(400),
        );
        image.tags.insert("amiref:template".into(), HOSTILE.into());
        builder = builder.image(ImageSeed::new(image).launch_permission(LaunchPermission::Public));
    }
    builder.build().unwrap()
}

fn rows<'a, 'i>(table: roxmltree::Node<'a, 'i>) -> Vec<roxmltree::Node<'a, 'i>> {
    table.children().filter(|n| n.has_tag_name("tr")).collect()
}

#[tokio::test(start_paused = true)]
async fn the_page_parses_summarises_every_control_and_region_and_escapes_the_cloud() {
    let cloud = cloud();
    let regions: Vec<Region> = vec!["us-east-1".parse().unwrap(), "eu-west-1".parse().unwrap()];
    let report = Scanner::new(&cloud, TrustPolicy::default())
        .now(cloud.now())
        .scan(&regions)
        .await;
    assert!(!report.findings.is_empty());
    let html = render_html(&report);
    let doc = roxmltree::Document::parse(&html).unwrap_or_else(|e| panic!("{e}\n{html}"));

    // Self-contained: no script, no external resource.
    for node in doc.descendants().filter(|n| n.is_element()) {
        assert_ne!(node.tag_name().name(), "script");
        assert_ne!(node.tag_name().name(), "link");
        for attr in ["src", "href"] {
            assert!(
                node.attribute(attr).is_none(),
                "{attr} on {:?}",
                node.tag_name()
            );
        }
    }
    assert!(!html.contains("<script>"), "escaped");
    assert!(!html.contains('\u{1b}'), "control characters replaced");

    let tables: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("table"))
        .collect();
    assert_eq!(tables.len(), 2, "the summary and the findings");
    let summary = rows(tables[0]);
    assert_eq!(summary.len(), 1 + ControlId::ALL.len());
    let header: Vec<String> = summary[0]
        .children()
        .filter(|n| n.has_tag_name("th"))
        .map(|n| n.text().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(header[3..], ["us-east-1", "eu-west-1", "Registries"]);
    let public_row = summary
        .iter()
        .find(|r| r.descendants().any(|n| n.text() == Some("cis-2.1.5")))
        .unwrap();
    let cells: Vec<_> = public_row
        .children()
        .filter(|n| n.has_tag_name("td"))
        .collect();
    assert_eq!(cells[3].attribute("class"), Some("failed"));
    assert_eq!(cells[4].attribute("class"), Some("failed"));

    let findings = rows(tables[1]);
    assert_eq!(findings.len(), 1 + report.findings.len());
    let text: String = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(
        text.contains("<script>alert('x')</script>"),
        "shown as text"
    );
}
