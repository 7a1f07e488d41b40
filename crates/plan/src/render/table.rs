//! The plan as a text table: every cell that is not left to the script, then the totals,
//! the retirements, the notes and the model's inputs.

use std::fmt::Write;

use super::{launch_source, launches, retire_block, size, time, usd};
use crate::{Decision, Plan};

/// The plan as text for a terminal. Cells left to the script are counted, not listed (a
/// plan of 1,000 templates has tens of thousands).
pub fn render_table(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Pre-build plan at {}", plan.generated_at.to_rfc3339());
    cells(&mut out, plan);
    totals(&mut out, plan);
    templates(&mut out, plan);
    retirements(&mut out, plan);
    for s in &plan.skipped {
        let _ = writeln!(out, "skipped {}: {}", s.template, s.reason);
    }
    if !plan.notes.is_empty() {
        let _ = writeln!(out, "\nNotes:");
        for note in &plan.notes {
            let _ = writeln!(out, "  {note}");
        }
    }
    let _ = writeln!(out, "\nModel inputs:");
    for line in &plan.model.stated {
        let _ = writeln!(out, "  - {line}");
    }
    out
}

/// The cells not left to the script, one a line.
fn cells(out: &mut String, plan: &Plan) {
    let header = [
        "TEMPLATE",
        "ARCH",
        "REGION",
        "DECISION",
        "LAUNCHES/MO",
        "SAVES/MO",
        "COSTS/MO",
        "NET/MO",
        "LAUNCHES FROM",
    ];
    let mut lines: Vec<[String; 9]> = Vec::new();
    for row in &plan.rows {
        for cell in row.cells.iter().filter(|c| c.decision != Decision::Script) {
            lines.push([
                row.template.clone(),
                row.architecture.to_string(),
                cell.region.to_string(),
                cell.decision.to_string(),
                launches(cell.monthly_launch_count),
                usd(cell.saving_usd_per_month),
                usd(cell.cost_usd_per_month),
                usd(cell.net_usd_per_month()),
                launch_source(&cell.launches_source),
            ]);
        }
    }
    if lines.is_empty() {
        out.push_str("\nNo template is worth pre-building: every launch runs its script.\n");
    } else {
        out.push('\n');
        out.push_str(&columns(&header.map(String::from), &lines));
    }
}

fn totals(out: &mut String, plan: &Plan) {
    let t = &plan.totals;
    let _ = writeln!(
        out,
        "\n{} build(s), {} copy(ies), {} on-demand, {} left to the script; saves {} a month, costs {}, net {}",
        t.build_count,
        t.copy_count,
        t.on_demand_count,
        t.script_count,
        usd(t.saving_usd_per_month),
        usd(t.cost_usd_per_month),
        usd(t.net_usd_per_month)
    );
}

/// Each row's home, times and size, with their sources.
fn templates(out: &mut String, plan: &Plan) {
    let _ = writeln!(out, "\nTemplates:");
    for row in &plan.rows {
        let home = row
            .home
            .as_ref()
            .map_or("not built".to_owned(), |h| format!("built in {h}"));
        let _ = writeln!(
            out,
            "  {} ({}): {home}; script {}; image {}; size {}",
            row.template,
            row.architecture,
            time(&row.script_time),
            time(&row.image_time),
            size(&row.image_size)
        );
    }
}

fn retirements(out: &mut String, plan: &Plan) {
    if plan.retire.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nRetire (cost exceeds benefit):");
    for p in &plan.retire {
        let blocked = p
            .blocked
            .as_ref()
            .map_or(String::new(), |b| format!(" [kept: {}]", retire_block(b)));
        let _ = writeln!(
            out,
            "  {} {} {} ({}): benefit {}, cost {} a month{blocked}",
            p.template,
            p.region,
            p.image,
            p.decision,
            usd(p.benefit_usd_per_month),
            usd(p.cost_usd_per_month)
        );
    }
}

/// Left-aligned columns two spaces apart.
fn columns<const N: usize>(header: &[String; N], lines: &[[String; N]]) -> String {
    let mut widths = header.clone().map(|h| h.chars().count());
    for line in lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in std::iter::once(header).chain(lines) {
        let mut text = String::new();
        for (i, (cell, w)) in line.iter().zip(widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let _ = write!(text, "{cell:<w$}");
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}
