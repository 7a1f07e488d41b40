//! One (template, version) given more than once: counted once when every copy is the same
//! signed entry, refused everywhere when the copies differ, and shadowed in the community
//! layer by an institutional entry.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::canonical::entry_message;
use crate::registry::{AdmittedEntry, Layer, LoadReport, Provenance, Refusal};

/// A copy of an entry that another source of the same layer also serves with the same
/// canonical signed content (template, version as written, and every field): the same
/// entry, counted once: the copy best vouched for (an active key's signature over a retired
/// key's, a signature over none), the first source given among equals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct IdenticalCopy {
    /// The template.
    pub template: String,
    /// The version as written.
    pub version: String,
    /// The layer both sources are in.
    pub layer: Layer,
    /// The source whose copy is used.
    pub kept: String,
    /// The source whose copy was set aside.
    pub dropped: String,
}

/// Keeps one copy of an entry several sources of a layer serve identically; refuses every
/// copy of a (template, version) given differently twice in one layer; drops community
/// copies of what an institutional entry provides.
pub(crate) fn resolve_duplicates(
    admitted: Vec<AdmittedEntry>,
    report: &mut LoadReport,
) -> Vec<AdmittedEntry> {
    let mut by_key: BTreeMap<(String, semver::Version), Vec<usize>> = BTreeMap::new();
    for (i, e) in admitted.iter().enumerate() {
        by_key
            .entry((e.template.clone(), e.version.clone()))
            .or_default()
            .push(i);
    }
    let mut keep = vec![true; admitted.len()];
    for ((template, version), indices) in by_key {
        if indices.len() < 2 {
            continue;
        }
        for layer in [Layer::Institutional, Layer::Community] {
            let in_layer: Vec<usize> = indices
                .iter()
                .copied()
                .filter(|&i| admitted[i].layer == layer)
                .collect();
            if in_layer.len() < 2 {
                continue;
            }
            if all_identical(&admitted, &in_layer) {
                let kept_at = best_vouched(&admitted, &in_layer);
                let kept = &admitted[kept_at];
                for &i in in_layer.iter().filter(|&&i| i != kept_at) {
                    keep[i] = false;
                    report.identical_copies.push(IdenticalCopy {
                        template: template.clone(),
                        version: kept.version_text.clone(),
                        layer,
                        kept: kept.source.clone(),
                        dropped: admitted[i].source.clone(),
                    });
                }
                continue;
            }
            let sources: Vec<&str> = in_layer
                .iter()
                .map(|&i| admitted[i].source.as_str())
                .collect();
            for &i in &in_layer {
                keep[i] = false;
                report.refused.push(Refusal {
                    template: template.clone(),
                    version: admitted[i].version_text.clone(),
                    source: admitted[i].source.clone(),
                    reason: format!(
                        "version {version} is given more than once in the {layer} layer, \
                         differently ({})",
                        sources.join(", ")
                    ),
                    problems: Vec::new(),
                });
            }
        }
        let institutional = indices
            .iter()
            .any(|&i| keep[i] && admitted[i].layer == Layer::Institutional);
        if institutional {
            for &i in &indices {
                if keep[i] && admitted[i].layer == Layer::Community {
                    keep[i] = false;
                    report.shadowed.push(format!(
                        "{template} {} from {} (an institutional entry of the same version takes precedence)",
                        admitted[i].version_text, admitted[i].source
                    ));
                }
            }
        }
    }
    admitted
        .into_iter()
        .zip(keep)
        .filter_map(|(e, k)| k.then_some(e))
        .collect()
}

/// Of identical copies, the one best vouched for (signed by an active key, then by a retired
/// one, then unsigned), the first given among equals.
fn best_vouched(admitted: &[AdmittedEntry], indices: &[usize]) -> usize {
    let standing = |i: &usize| match admitted[*i].provenance {
        Provenance::Signed { retired: false, .. } => 0,
        Provenance::Signed { retired: true, .. } => 1,
        Provenance::Unsigned => 2,
    };
    indices
        .iter()
        .copied()
        .min_by_key(|i| (standing(i), *i))
        .unwrap_or(indices[0])
}

/// Whether the entries at `indices` have one canonical signed form (what a signature covers:
/// the template, the version as written and every field but the signature itself).
fn all_identical(admitted: &[AdmittedEntry], indices: &[usize]) -> bool {
    let message = |i: usize| {
        let e = &admitted[i];
        entry_message(&e.template, &e.version_text, &e.entry).ok()
    };
    let Some(first) = message(indices[0]) else {
        return false;
    };
    indices[1..]
        .iter()
        .all(|&i| message(i).is_some_and(|m| m == first))
}
