//! Prints the region catalog and the built-in fallback graph as the Markdown tables of
//! docs/regions.md: `cargo run -p amiref-regions --example print_graph`.

use amiref_regions::{FallbackGraph, Prices, WalkOptions, catalog};

fn main() -> Result<(), amiref_core::ParseError> {
    let graph = FallbackGraph::builtin();
    let prices = Prices::builtin();
    // Any destination priced at the source's general rate (no special pair) will do.
    let (eu_west_1, us_east_1) = ("eu-west-1".parse()?, "us-east-1".parse()?);
    println!("| Code | Name | Partition | Opt-in | Lat, Lon | Out $/GB | Snapshot $/GB-mo |");
    println!("|---|---|---|---|---|---|---|");
    for info in catalog() {
        let to = if info.code == eu_west_1 {
            &us_east_1
        } else {
            &eu_west_1
        };
        let transfer = prices.transfer(&info.code, to);
        let snapshot = prices.snapshot_storage(&info.code);
        let mark = |basis| match basis {
            amiref_regions::PriceBasis::Published => "",
            _ => " (est.)",
        };
        println!(
            "| {} | {} | {} | {} | {:.1}, {:.1} | {}{} | {}{} |",
            info.code,
            info.name,
            info.partition,
            if info.opt_in { "yes" } else { "no" },
            info.latitude,
            info.longitude,
            transfer.usd,
            mark(transfer.basis),
            snapshot.usd,
            mark(snapshot.basis),
        );
    }
    println!();
    println!("| Region | Fallbacks, in order | A full walk reaches | Without opt-in |");
    println!("|---|---|---|---|");
    for info in catalog() {
        let list: Vec<String> = graph
            .fallbacks(&info.code)
            .iter()
            .map(|r| r.to_string())
            .collect();
        let reach = graph.walk(&info.code, &WalkOptions::new()).len();
        let enabled_only = WalkOptions::new().exclude_opt_in(true);
        let reach_enabled = graph.walk(&info.code, &enabled_only).len();
        println!(
            "| {} | {} | {} | {} |",
            info.code,
            list.join(", "),
            reach,
            reach_enabled
        );
    }
    Ok(())
}
