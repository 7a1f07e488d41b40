//! Inter-region data transfer and EBS snapshot storage prices, for copy cost estimates.

use std::collections::BTreeMap;

use amiref_core::Region;

/// When the built-in prices were recorded.
pub const PRICES_AS_OF: &str = "2026-11-25";

/// Where the built-in prices come from.
///
/// AWS's own pricing pages are the source; the figures were recorded from them as published
/// up to 2025 and checked on [`PRICES_AS_OF`] against public summaries of those pages (the
/// pages themselves were not fetched), so treat them as list prices to estimate with, not
/// as a bill.
pub const PRICES_SOURCE: &str = "AWS, Amazon EC2 On-Demand pricing, \"Data Transfer\": \
\"Data Transfer OUT from Amazon EC2 to other AWS Regions\", billed by the source region \
(https://aws.amazon.com/ec2/pricing/on-demand/), and Amazon EBS pricing, \"EBS Snapshots\", \
Standard tier (https://aws.amazon.com/ebs/pricing/); USD list prices before discounts, \
checked 2026-11-25; rates marked Estimated were not on record and are set by analogy with \
the nearest region of the same pricing group";

/// How a price was arrived at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PriceBasis {
    /// AWS's published list price, as recorded (see [`PRICES_SOURCE`]).
    Published,
    /// Not on record: set by analogy with a comparable region (new regions, GovCloud,
    /// China, whose prices AWS lists separately or in CNY).
    Estimated,
    /// Set by the caller.
    Configured,
}

/// A price in US dollars and how it was arrived at.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Price {
    /// US dollars per unit (per GB, or per GB-month).
    pub usd: f64,
    /// Whether it is published, estimated or configured.
    pub basis: PriceBasis,
}

impl Price {
    const fn published(usd: f64) -> Self {
        Self {
            usd,
            basis: PriceBasis::Published,
        }
    }
    const fn estimated(usd: f64) -> Self {
        Self {
            usd,
            basis: PriceBasis::Estimated,
        }
    }
    const fn configured(usd: f64) -> Self {
        Self {
            usd,
            basis: PriceBasis::Configured,
        }
    }
}

use PriceBasis::{Estimated as E, Published as P};

/// Data transfer out to another region, USD per GB, by source region.
const TRANSFER_OUT: &[(&str, f64, PriceBasis)] = &[
    ("us-east-1", 0.02, P),
    ("us-east-2", 0.02, P),
    ("us-west-1", 0.02, P),
    ("us-west-2", 0.02, P),
    ("ca-central-1", 0.02, P),
    ("ca-west-1", 0.02, E),
    ("mx-central-1", 0.02, E),
    ("eu-west-1", 0.02, P),
    ("eu-west-2", 0.02, P),
    ("eu-west-3", 0.02, P),
    ("eu-central-1", 0.02, P),
    ("eu-north-1", 0.02, P),
    ("eu-south-1", 0.02, P),
    ("eu-central-2", 0.02, E),
    ("eu-south-2", 0.02, E),
    ("ap-northeast-1", 0.09, P),
    ("ap-northeast-2", 0.08, P),
    ("ap-northeast-3", 0.09, P),
    ("ap-southeast-1", 0.09, P),
    ("ap-southeast-2", 0.098, P),
    ("ap-south-1", 0.086, P),
    ("ap-east-1", 0.09, P),
    ("ap-south-2", 0.086, E),
    ("ap-southeast-3", 0.10, E),
    ("ap-southeast-4", 0.10, E),
    ("ap-southeast-5", 0.09, E),
    ("ap-southeast-6", 0.098, E),
    ("ap-southeast-7", 0.09, E),
    ("ap-east-2", 0.09, E),
    ("sa-east-1", 0.138, P),
    ("af-south-1", 0.147, P),
    ("me-south-1", 0.1105, P),
    ("me-central-1", 0.085, E),
    ("il-central-1", 0.08, E),
    ("us-gov-west-1", 0.03, E),
    ("us-gov-east-1", 0.03, E),
    ("cn-north-1", 0.08, E),
    ("cn-northwest-1", 0.08, E),
];

/// Pairs priced apart from their source region's rate, USD per GB, each direction.
const TRANSFER_PAIRS: &[(&str, &str, f64, PriceBasis)] = &[
    ("us-east-1", "us-east-2", 0.01, P),
    ("us-east-2", "us-east-1", 0.01, P),
];

/// EBS snapshot storage, Standard tier, USD per GB-month.
const SNAPSHOT_STORAGE: &[(&str, f64, PriceBasis)] = &[
    ("us-east-1", 0.05, P),
    ("us-east-2", 0.05, P),
    ("us-west-1", 0.055, P),
    ("us-west-2", 0.05, P),
    ("ca-central-1", 0.055, P),
    ("ca-west-1", 0.055, E),
    ("mx-central-1", 0.055, E),
    ("sa-east-1", 0.068, P),
    ("eu-west-1", 0.05, P),
    ("eu-west-2", 0.053, P),
    ("eu-west-3", 0.053, P),
    ("eu-central-1", 0.054, P),
    ("eu-north-1", 0.0475, P),
    ("eu-south-1", 0.053, E),
    ("eu-central-2", 0.06, E),
    ("eu-south-2", 0.053, E),
    ("ap-northeast-1", 0.05, P),
    ("ap-northeast-2", 0.05, P),
    ("ap-northeast-3", 0.05, E),
    ("ap-southeast-1", 0.05, P),
    ("ap-southeast-2", 0.055, P),
    ("ap-south-1", 0.05, P),
    ("ap-east-1", 0.055, E),
    ("ap-south-2", 0.05, E),
    ("ap-southeast-3", 0.055, E),
    ("ap-southeast-4", 0.055, E),
    ("ap-southeast-5", 0.055, E),
    ("ap-southeast-6", 0.055, E),
    ("ap-southeast-7", 0.055, E),
    ("ap-east-2", 0.055, E),
    ("af-south-1", 0.06, E),
    ("me-south-1", 0.055, E),
    ("me-central-1", 0.055, E),
    ("il-central-1", 0.055, E),
    ("us-gov-west-1", 0.066, E),
    ("us-gov-east-1", 0.066, E),
    ("cn-north-1", 0.06, E),
    ("cn-northwest-1", 0.06, E),
];

/// Prices for regions not in the tables: the highest of each table, so an estimate for an
/// unknown region errs high rather than low.
const UNKNOWN_TRANSFER_PER_GB: f64 = 0.147;
const UNKNOWN_SNAPSHOT_PER_GB_MONTH: f64 = 0.068;

/// The prices a copy cost estimate needs: moving snapshot data between regions, and
/// keeping it in the destination.
///
/// A cross-region image copy costs roughly `size_gb * transfer_per_gb(from, to)` once, then
/// `size_gb * snapshot_storage_per_gb_month(to)` each month.
///
/// ```
/// use amiref_regions::Prices;
/// let prices = Prices::builtin();
/// let from = "ap-southeast-1".parse().unwrap();
/// let to = "ap-south-1".parse().unwrap();
/// let copy_8_gb = 8.0 * prices.transfer_per_gb(&from, &to);
/// assert!((copy_8_gb - 0.72).abs() < 1e-9);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Prices {
    transfer_out: BTreeMap<String, Price>,
    transfer_pairs: BTreeMap<(String, String), Price>,
    snapshot_storage: BTreeMap<String, Price>,
    as_of: String,
    source: String,
}

impl Prices {
    /// The built-in prices, recorded on [`PRICES_AS_OF`] from [`PRICES_SOURCE`].
    pub fn builtin() -> Self {
        let table = |rows: &[(&str, f64, PriceBasis)]| {
            rows.iter()
                .map(|&(code, usd, basis)| (code.to_owned(), Price { usd, basis }))
                .collect()
        };
        Self {
            transfer_out: table(TRANSFER_OUT),
            transfer_pairs: TRANSFER_PAIRS
                .iter()
                .map(|&(from, to, usd, basis)| {
                    ((from.to_owned(), to.to_owned()), Price { usd, basis })
                })
                .collect(),
            snapshot_storage: table(SNAPSHOT_STORAGE),
            as_of: PRICES_AS_OF.to_owned(),
            source: PRICES_SOURCE.to_owned(),
        }
    }

    /// USD per GB to move data from `from` to `to`: 0 within a region, the pair's own rate
    /// where AWS sets one (us-east-1 and us-east-2: $0.01), otherwise the source region's
    /// rate; for a region not on record, the highest rate on record.
    ///
    /// It prices the bytes only; whether a copy is possible (never across partitions) is
    /// the fallback graph's business.
    pub fn transfer_per_gb(&self, from: &Region, to: &Region) -> f64 {
        self.transfer(from, to).usd
    }

    /// Like [`transfer_per_gb`](Self::transfer_per_gb), with how the price was arrived at.
    pub fn transfer(&self, from: &Region, to: &Region) -> Price {
        if from == to {
            return Price::published(0.0);
        }
        let pair = (from.as_str().to_owned(), to.as_str().to_owned());
        self.transfer_pairs
            .get(&pair)
            .or_else(|| self.transfer_out.get(from.as_str()))
            .copied()
            .unwrap_or(Price::estimated(UNKNOWN_TRANSFER_PER_GB))
    }

    /// USD per GB-month to keep EBS snapshots (Standard tier) in `region`; for a region not
    /// on record, the highest price on record.
    pub fn snapshot_storage_per_gb_month(&self, region: &Region) -> f64 {
        self.snapshot_storage(region).usd
    }

    /// Like [`snapshot_storage_per_gb_month`](Self::snapshot_storage_per_gb_month), with
    /// how the price was arrived at.
    pub fn snapshot_storage(&self, region: &Region) -> Price {
        self.snapshot_storage
            .get(region.as_str())
            .copied()
            .unwrap_or(Price::estimated(UNKNOWN_SNAPSHOT_PER_GB_MONTH))
    }

    /// Sets the rate for data leaving `region` for any other region (USD per GB).
    pub fn set_transfer_out(&mut self, region: &Region, usd_per_gb: f64) -> &mut Self {
        self.transfer_out
            .insert(region.as_str().to_owned(), Price::configured(usd_per_gb));
        self
    }

    /// Sets the rate for data moving from `from` to `to` (USD per GB), over the source
    /// region's rate.
    pub fn set_transfer_pair(&mut self, from: &Region, to: &Region, usd_per_gb: f64) -> &mut Self {
        self.transfer_pairs.insert(
            (from.as_str().to_owned(), to.as_str().to_owned()),
            Price::configured(usd_per_gb),
        );
        self
    }

    /// Sets the snapshot storage price in `region` (USD per GB-month).
    pub fn set_snapshot_storage(&mut self, region: &Region, usd_per_gb_month: f64) -> &mut Self {
        self.snapshot_storage.insert(
            region.as_str().to_owned(),
            Price::configured(usd_per_gb_month),
        );
        self
    }

    /// The date the prices were recorded.
    pub fn as_of(&self) -> &str {
        &self.as_of
    }

    /// Where the prices come from.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl Default for Prices {
    fn default() -> Self {
        Self::builtin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::catalog;

    fn r(code: &str) -> Region {
        code.parse().unwrap()
    }

    #[test]
    fn every_catalogued_region_has_both_prices_on_record() {
        let prices = Prices::builtin();
        for info in catalog() {
            let code = info.code.as_str();
            assert!(prices.transfer_out.contains_key(code), "transfer {code}");
            assert!(
                prices.snapshot_storage.contains_key(code),
                "snapshot {code}"
            );
        }
        assert_eq!(TRANSFER_OUT.len(), catalog().len());
        assert_eq!(SNAPSHOT_STORAGE.len(), catalog().len());
    }

    #[test]
    fn unknown_fallbacks_are_the_highest_on_record() {
        let max = |rows: &[(&str, f64, PriceBasis)]| rows.iter().map(|r| r.1).fold(0.0, f64::max);
        assert_eq!(max(TRANSFER_OUT), UNKNOWN_TRANSFER_PER_GB);
        assert_eq!(max(SNAPSHOT_STORAGE), UNKNOWN_SNAPSHOT_PER_GB_MONTH);
    }

    #[test]
    fn known_rates() {
        let p = Prices::builtin();
        assert_eq!(p.transfer_per_gb(&r("us-east-1"), &r("us-west-2")), 0.02);
        assert_eq!(p.transfer_per_gb(&r("us-east-1"), &r("us-east-2")), 0.01);
        assert_eq!(p.transfer_per_gb(&r("us-east-2"), &r("us-east-1")), 0.01);
        assert_eq!(p.transfer_per_gb(&r("eu-west-1"), &r("eu-west-1")), 0.0);
        assert_eq!(p.transfer_per_gb(&r("sa-east-1"), &r("us-east-1")), 0.138);
        assert_eq!(
            p.transfer(&r("ap-southeast-1"), &r("us-east-1")).basis,
            PriceBasis::Published
        );
        assert_eq!(p.snapshot_storage_per_gb_month(&r("us-east-1")), 0.05);
        assert_eq!(
            p.snapshot_storage(&r("ap-southeast-7")).basis,
            PriceBasis::Estimated
        );
        let unknown = p.transfer(&r("xx-nowhere-1"), &r("us-east-1"));
        assert_eq!((unknown.usd, unknown.basis), (0.147, PriceBasis::Estimated));
        assert!(!p.as_of().is_empty() && p.source().contains("aws.amazon.com"));
    }

    #[test]
    fn overrides_win_and_are_marked() {
        let mut p = Prices::builtin();
        p.set_transfer_out(&r("eu-west-1"), 0.015)
            .set_transfer_pair(&r("eu-west-1"), &r("eu-west-2"), 0.005)
            .set_snapshot_storage(&r("eu-west-1"), 0.04);
        assert_eq!(p.transfer_per_gb(&r("eu-west-1"), &r("us-east-1")), 0.015);
        assert_eq!(p.transfer_per_gb(&r("eu-west-1"), &r("eu-west-2")), 0.005);
        assert_eq!(p.snapshot_storage(&r("eu-west-1")), Price::configured(0.04));
    }
}
