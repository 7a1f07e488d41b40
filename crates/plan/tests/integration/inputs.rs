//! The planner's inputs: the launch log, usage files and EC2's signals, and the errors
//! their bad forms give.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::Write;
use std::time::Duration;

use amiref_core::{Architecture, ImageUsage};
use amiref_plan::{
    ImageSignal, LaunchLog, LaunchMethod, LaunchRecord, LaunchSource, PlanInputs, PlanModel,
    TimeSource, UsageFile, plan,
};
use chrono::TimeDelta;
use common::{image, monthly_model, now, region, template};

fn record(days_ago: i64, method: LaunchMethod) -> LaunchRecord {
    LaunchRecord::new(
        "python-ml",
        region("us-east-1"),
        Architecture::X86_64,
        now() - TimeDelta::days(days_ago),
        method,
    )
}

#[test]
fn the_launch_log_round_trips_and_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/launches.jsonl");
    let log = LaunchLog::open(&path).unwrap();
    let first = record(2, LaunchMethod::Script).with_ready(Duration::from_secs(400));
    let second = record(1, LaunchMethod::Image);
    log.append(&first).unwrap();
    log.append(&second).unwrap();
    drop(log);
    // Reopening appends rather than truncating.
    LaunchLog::open(&path).unwrap().append(&first).unwrap();
    let contents = LaunchLog::read(&path).unwrap();
    assert_eq!(contents.records, [first.clone(), second, first]);
    assert!(contents.bad_lines.is_empty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn bad_log_lines_are_reported_with_file_and_line_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("launches.jsonl");
    let good = serde_json::to_string(&record(1, LaunchMethod::Image)).unwrap();
    let mut file = std::fs::File::create(&path).unwrap();
    writeln!(file, "{good}").unwrap();
    writeln!(file).unwrap();
    writeln!(
        file,
        r#"{{"template":"python-ml","region":"us-east-1","architecture":"sparc","time":"2026-11-30T00:00:00Z","method":"image"}}"#
    )
    .unwrap();
    file.write_all(b"\xff\xfe\n").unwrap();
    write!(file, "{}", &good[..20]).unwrap(); // a torn last line
    drop(file);
    let contents = LaunchLog::read(&path).unwrap();
    assert_eq!(contents.records.len(), 1);
    let lines: Vec<usize> = contents.bad_lines.iter().map(|b| b.line).collect();
    assert_eq!(lines, [3, 4, 5]);
    let shown = contents.bad_lines[0].to_string();
    assert!(
        shown.starts_with(&format!("{}:3:", path.display())) && shown.contains("sparc"),
        "{shown}"
    );
    assert!(contents.bad_lines[1].message.contains("UTF-8"));
    // The planner reports them as notes.
    let plan = plan(
        &PlanInputs::new(now())
            .template(template("python-ml", "30m"))
            .launch_log(contents),
        &PlanModel::default(),
    );
    assert!(
        plan.notes.iter().any(|n| n.contains(":5:")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn a_missing_log_is_an_error_naming_it() {
    let err = LaunchLog::read("/nonexistent/launches.jsonl").unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/launches.jsonl"),
        "{err}"
    );
}

#[test]
fn log_counts_are_spread_over_the_window_or_the_logs_age() {
    // 30 records in the last 30 days, the first 30 days ago, and one 120 days ago (outside
    // the 90-day window, but it dates the log's start, so the span is the whole window).
    let mut records: Vec<LaunchRecord> = (0..30)
        .map(|d| record(d, LaunchMethod::Script).with_ready(Duration::from_secs(1000 + d as u64)))
        .collect();
    let contents = amiref_plan::LaunchLogContents::default();
    let young = PlanInputs::new(now())
        .template(template("python-ml", "30m"))
        .launch_log(with_records(contents.clone(), records.clone()));
    // Young log: 30 records over 29 days (the first is 29 days old) = 696 h:
    // 30 x 730 / 696 = 31.465517 a month.
    let cell_of = |inputs: &PlanInputs| {
        plan(inputs, &monthly_model())
            .cell("python-ml", Architecture::X86_64, &region("us-east-1"))
            .unwrap()
            .clone()
    };
    let cell = cell_of(&young);
    assert!((cell.monthly_launch_count - 30.0 * 730.0 / 696.0).abs() < 1e-9);
    assert_eq!(
        cell.launches_source,
        LaunchSource::LaunchLog { records_count: 30 }
    );

    records.push(record(120, LaunchMethod::Script));
    let old = PlanInputs::new(now())
        .template(template("python-ml", "30m"))
        .launch_log(with_records(contents, records));
    // Old log: the window, 90 days = 2160 h: 30 x 730 / 2160 = 10.138889.
    let cell = cell_of(&old);
    assert!((cell.monthly_launch_count - 30.0 * 730.0 / 2160.0).abs() < 1e-9);

    // The script time is the median of the 30 measured times in the window: 1000..=1029 s,
    // median (1014 + 1015) / 2 = 1014.5 s.
    let plan = plan(&old, &monthly_model());
    let row = plan.row("python-ml", Architecture::X86_64).unwrap();
    assert_eq!(row.script_time.ready_secs, 1014.5);
    assert_eq!(
        row.script_time.source,
        TimeSource::LaunchLogMedian { samples_count: 30 }
    );
}

fn with_records(
    mut contents: amiref_plan::LaunchLogContents,
    records: Vec<LaunchRecord>,
) -> amiref_plan::LaunchLogContents {
    contents.records = records;
    contents
}

#[test]
fn a_young_log_is_spread_over_the_minimum_span() {
    // One launch an hour ago: spread over 7 days = 168 h, 730 / 168 = 4.345238 a month.
    let mut first = record(0, LaunchMethod::Image);
    first.time = now() - TimeDelta::hours(1);
    let inputs = PlanInputs::new(now())
        .template(template("python-ml", "30m"))
        .launch_log(with_records(Default::default(), vec![first]));
    let plan = plan(&inputs, &monthly_model());
    let cell = &plan.rows[0].cells[0];
    assert!((cell.monthly_launch_count - 730.0 / 168.0).abs() < 1e-9);
}

#[test]
fn usage_files_override_the_log_and_last_launched_is_a_floor() {
    let log = with_records(Default::default(), vec![record(1, LaunchMethod::Image)]);
    let usage = UsageFile::from_str(
        "source: forecast\nusage:\n  - template: python-ml\n    region: us-east-1\n    launches_per_month: 42\n",
        "usage.yml",
    )
    .unwrap();
    let mut launched = image("ami-00000000000000009", "python-ml", "eu-west-1", 8);
    launched.last_launched = Some(now() - TimeDelta::days(10));
    let inputs = PlanInputs::new(now())
        .template(template("python-ml", "30m"))
        .launch_log(log)
        .usage(usage)
        .images([ImageSignal::new(launched, Ok(ImageUsage::default()))]);
    let plan = plan(&inputs, &monthly_model());
    let east = plan
        .cell("python-ml", Architecture::X86_64, &region("us-east-1"))
        .unwrap();
    assert_eq!(east.monthly_launch_count, 42.0);
    assert_eq!(
        east.launches_source,
        LaunchSource::UsageFile {
            origin: "usage.yml".into(),
            line: 3
        }
    );
    // One launch per 90-day window: 730 / 2160 = 0.337963 a month.
    let west = plan
        .cell("python-ml", Architecture::X86_64, &region("eu-west-1"))
        .unwrap();
    assert!((west.monthly_launch_count - 730.0 / 2160.0).abs() < 1e-9);
    assert!(matches!(
        west.launches_source,
        LaunchSource::LastLaunched { .. }
    ));
}

#[test]
fn usage_file_errors_name_file_line_column_and_field() {
    let cases = [
        (
            "usage:\n  - template: a\n    region: eu-wst-1\n    launches_per_month: 1\n",
            "u.yml:3:13: usage[0].region: found \"eu-wst-1\", expected an AWS region code: did you mean eu-west-1?",
        ),
        (
            "usage:\n  - template: a\n    region: us-east-1\n    launches_per_month: lots\n",
            "u.yml:4:25:",
        ),
        (
            "usage:\n  - template: a\n    region: us-east-1\n    launches: 1\n",
            "u.yml:4:5:",
        ),
        (
            "usage:\n  - template: \"\"\n    region: us-east-1\n    launches_per_month: 1\n",
            "u.yml:2:15: usage[0].template: found \"\", expected a template name",
        ),
        (
            "usage:\n  - template: a\n    region: us-east-1\n    launches_per_month: 1\n  - template: a\n    region: us-east-1\n    launches_per_month: 2\n",
            "u.yml:5:5: usage[1].template: found `a` in us-east-1 a second time (first at line 2)",
        ),
        (
            "{\"usage\": [{\"template\": \"a\", \"region\": \"us-east-1\", \"launches_per_month\": -1}]}",
            "u.yml:1:75: usage[0].launches_per_month: found -1, expected a number of launches per month, 0 or more",
        ),
    ];
    for (text, expected) in cases {
        let err = UsageFile::from_str(text, "u.yml").unwrap_err().to_string();
        assert!(
            err.starts_with(expected),
            "{text:?}\n got: {err}\nwant: {expected}"
        );
    }
}

#[test]
fn a_usage_file_in_json_reads_like_yaml() {
    let json = r#"{"usage": [{"template": "a", "region": "us-east-1", "architecture": "arm64", "launches_per_month": 3.5}]}"#;
    let file = UsageFile::from_str(json, "u.json").unwrap();
    assert_eq!(file.usage[0].architecture, Some(Architecture::Arm64));
    assert_eq!(file.usage[0].launches_per_month, 3.5);
}

#[test]
fn usage_of_a_template_not_planned_is_a_note() {
    let usage = UsageFile::from_str(
        "usage:\n  - template: ghost\n    region: us-east-1\n    launches_per_month: 1\n",
        "u.yml",
    )
    .unwrap();
    let plan = plan(
        &PlanInputs::new(now())
            .template(template("python-ml", "30m"))
            .usage(usage),
        &PlanModel::default(),
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.starts_with("u.yml:2:") && n.contains("ghost")),
        "{:?}",
        plan.notes
    );
}

#[tokio::test(start_paused = true)]
async fn image_signals_ask_the_store_for_each_images_usage() {
    let mut store = amiref_core::ports::MockImageStore::new();
    store.expect_image_usage().returning(|_, id| {
        if id.as_str().ends_with('2') {
            Err(amiref_core::CloudError::new(
                amiref_core::CloudErrorKind::Throttled,
                "DescribeImageReferences",
                "slow down",
            ))
        } else {
            Ok(ImageUsage::default())
        }
    });
    let images = vec![
        image("ami-00000000000000001", "python-ml", "us-east-1", 8),
        image("ami-00000000000000002", "python-ml", "eu-west-1", 8),
    ];
    let signals = amiref_plan::image_signals(&store, images, 4).await;
    assert_eq!(signals.len(), 2);
    assert!(signals[0].usage.is_ok());
    assert!(signals[1].usage.is_err());
    assert_eq!(signals[1].image.region, region("eu-west-1"));
}
