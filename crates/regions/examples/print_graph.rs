//! Prints the built-in fallback graph and each region's full walk, as Markdown rows.
use amiref_regions::{FallbackGraph, WalkOptions, catalog};

fn main() {
    let graph = FallbackGraph::builtin();
    for info in catalog() {
        let list: Vec<String> = graph
            .fallbacks(&info.code)
            .iter()
            .map(|r| r.to_string())
            .collect();
        let reach = graph.walk(&info.code, &WalkOptions::new()).len();
        println!("| {} | {} | {} |", info.code, list.join(", "), reach);
    }
}
