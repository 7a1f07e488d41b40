//! The catalog of AWS regions: facts, with the date they were gathered and their source.

use std::sync::LazyLock;

use amiref_core::{Partition, Region};

/// When the catalog was last checked against its source.
pub const CATALOG_AS_OF: &str = "2026-11-25";

/// Where the catalog's facts come from.
///
/// Codes, names and launch dates: the AWS documentation "AWS Regions and Availability
/// Zones" (<https://docs.aws.amazon.com/global-infrastructure/latest/regions/>), whose
/// document history lists the newest commercial region as Asia Pacific (New Zealand),
/// `ap-southeast-6`, launched 2025-09-02. Opt-in status: AWS enables regions launched
/// before 2019-03-20 by default; later ones must be enabled per account. Coordinates are
/// approximate (the metro area AWS names, to about 0.1 degree): good for ranking regions
/// by distance, not for anything finer.
pub const CATALOG_SOURCE: &str = "AWS documentation, \"AWS Regions and Availability Zones\" \
(docs.aws.amazon.com/global-infrastructure/latest/regions/), checked 2026-11-25; \
coordinates approximate (metro area)";

/// One AWS region: its code, name, partition, whether accounts must opt in to use it, and
/// roughly where it is.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct RegionInfo {
    /// The region code, e.g. `eu-west-3`.
    pub code: Region,
    /// The display name AWS gives it, e.g. `Europe (Paris)`.
    pub name: &'static str,
    /// The partition it belongs to; nothing is ever copied across partitions.
    pub partition: Partition,
    /// Whether an account must enable the region before using it (regions launched after
    /// 2019-03-20).
    pub opt_in: bool,
    /// Approximate latitude in degrees (north positive).
    pub latitude: f64,
    /// Approximate longitude in degrees (east positive).
    pub longitude: f64,
}

impl RegionInfo {
    /// Great-circle distance to another region in kilometres (haversine on a sphere of
    /// radius 6371 km).
    pub fn distance_km(&self, other: &RegionInfo) -> f64 {
        great_circle_km(
            self.latitude,
            self.longitude,
            other.latitude,
            other.longitude,
        )
    }
}

const EARTH_RADIUS_KM: f64 = 6371.0;

fn great_circle_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let d_phi = (lat2 - lat1).to_radians();
    let d_lambda = (lon2 - lon1).to_radians();
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// Great-circle distance in kilometres between two catalogued regions, or `None` if either
/// is not in the catalog.
pub fn distance_km(a: &Region, b: &Region) -> Option<f64> {
    Some(find(a.as_str())?.distance_km(find(b.as_str())?))
}

use Partition::{Aws, AwsCn, AwsUsGov};

/// (code, name, partition, opt-in, latitude, longitude)
type Row = (&'static str, &'static str, Partition, bool, f64, f64);

const ROWS: &[Row] = &[
    // Commercial (`aws`), enabled by default.
    (
        "us-east-1",
        "US East (N. Virginia)",
        Aws,
        false,
        39.0,
        -77.5,
    ),
    ("us-east-2", "US East (Ohio)", Aws, false, 40.0, -83.0),
    (
        "us-west-1",
        "US West (N. California)",
        Aws,
        false,
        37.4,
        -121.9,
    ),
    ("us-west-2", "US West (Oregon)", Aws, false, 45.8, -119.7),
    ("ca-central-1", "Canada (Central)", Aws, false, 45.5, -73.6),
    (
        "sa-east-1",
        "South America (São Paulo)",
        Aws,
        false,
        -23.5,
        -46.6,
    ),
    ("eu-west-1", "Europe (Ireland)", Aws, false, 53.3, -6.3),
    ("eu-west-2", "Europe (London)", Aws, false, 51.5, -0.1),
    ("eu-west-3", "Europe (Paris)", Aws, false, 48.9, 2.4),
    ("eu-central-1", "Europe (Frankfurt)", Aws, false, 50.1, 8.7),
    ("eu-north-1", "Europe (Stockholm)", Aws, false, 59.3, 18.1),
    (
        "ap-south-1",
        "Asia Pacific (Mumbai)",
        Aws,
        false,
        19.1,
        72.9,
    ),
    (
        "ap-southeast-1",
        "Asia Pacific (Singapore)",
        Aws,
        false,
        1.35,
        103.8,
    ),
    (
        "ap-southeast-2",
        "Asia Pacific (Sydney)",
        Aws,
        false,
        -33.9,
        151.2,
    ),
    (
        "ap-northeast-1",
        "Asia Pacific (Tokyo)",
        Aws,
        false,
        35.7,
        139.7,
    ),
    (
        "ap-northeast-2",
        "Asia Pacific (Seoul)",
        Aws,
        false,
        37.6,
        127.0,
    ),
    (
        "ap-northeast-3",
        "Asia Pacific (Osaka)",
        Aws,
        false,
        34.7,
        135.5,
    ),
    // Commercial (`aws`), opt-in.
    (
        "ap-east-1",
        "Asia Pacific (Hong Kong)",
        Aws,
        true,
        22.3,
        114.2,
    ),
    ("me-south-1", "Middle East (Bahrain)", Aws, true, 26.1, 50.6),
    ("af-south-1", "Africa (Cape Town)", Aws, true, -33.9, 18.4),
    ("eu-south-1", "Europe (Milan)", Aws, true, 45.5, 9.2),
    (
        "ap-southeast-3",
        "Asia Pacific (Jakarta)",
        Aws,
        true,
        -6.2,
        106.8,
    ),
    ("me-central-1", "Middle East (UAE)", Aws, true, 24.5, 54.4),
    ("eu-central-2", "Europe (Zurich)", Aws, true, 47.4, 8.5),
    ("eu-south-2", "Europe (Spain)", Aws, true, 41.6, -0.9),
    (
        "ap-south-2",
        "Asia Pacific (Hyderabad)",
        Aws,
        true,
        17.4,
        78.5,
    ),
    (
        "ap-southeast-4",
        "Asia Pacific (Melbourne)",
        Aws,
        true,
        -37.8,
        145.0,
    ),
    ("il-central-1", "Israel (Tel Aviv)", Aws, true, 32.1, 34.8),
    (
        "ca-west-1",
        "Canada West (Calgary)",
        Aws,
        true,
        51.0,
        -114.1,
    ),
    (
        "ap-southeast-5",
        "Asia Pacific (Malaysia)",
        Aws,
        true,
        3.1,
        101.7,
    ),
    (
        "ap-southeast-7",
        "Asia Pacific (Thailand)",
        Aws,
        true,
        13.8,
        100.5,
    ),
    ("mx-central-1", "Mexico (Central)", Aws, true, 20.6, -100.4),
    ("ap-east-2", "Asia Pacific (Taipei)", Aws, true, 25.0, 121.5),
    (
        "ap-southeast-6",
        "Asia Pacific (New Zealand)",
        Aws,
        true,
        -36.8,
        174.8,
    ),
    // AWS GovCloud (US) (`aws-us-gov`).
    (
        "us-gov-west-1",
        "AWS GovCloud (US-West)",
        AwsUsGov,
        false,
        45.6,
        -121.2,
    ),
    (
        "us-gov-east-1",
        "AWS GovCloud (US-East)",
        AwsUsGov,
        false,
        40.0,
        -83.0,
    ),
    // China (`aws-cn`), operated by Sinnet and NWCD.
    ("cn-north-1", "China (Beijing)", AwsCn, false, 39.9, 116.4),
    (
        "cn-northwest-1",
        "China (Ningxia)",
        AwsCn,
        false,
        37.5,
        105.2,
    ),
];

static CATALOG: LazyLock<Vec<RegionInfo>> = LazyLock::new(|| {
    ROWS.iter()
        // Every code in ROWS is well formed (a test checks that none is dropped here).
        .filter_map(|&(code, name, partition, opt_in, latitude, longitude)| {
            Some(RegionInfo {
                code: Region::new(code).ok()?,
                name,
                partition,
                opt_in,
                latitude,
                longitude,
            })
        })
        .collect()
});

/// Every region in the catalog: the commercial regions first, then GovCloud, then China.
pub fn catalog() -> &'static [RegionInfo] {
    &CATALOG
}

/// The catalogued region with this code, if any.
pub fn find(code: &str) -> Option<&'static RegionInfo> {
    catalog().iter().find(|r| r.code.as_str() == code)
}

/// The commercial (`aws` partition) regions, opt-in ones included.
pub fn commercial_regions() -> impl Iterator<Item = &'static RegionInfo> {
    catalog().iter().filter(|r| r.partition == Partition::Aws)
}

/// The regions of one partition.
pub fn regions_in(partition: Partition) -> impl Iterator<Item = &'static RegionInfo> {
    catalog().iter().filter(move |r| r.partition == partition)
}

/// A region code that is not in the catalog, with the nearest one by spelling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", unknown_region_message(.given, *.suggestion))]
#[non_exhaustive]
pub struct UnknownRegion {
    /// What was given.
    pub given: String,
    /// The catalogued code nearest in spelling, if one is close.
    pub suggestion: Option<&'static str>,
}

fn unknown_region_message(given: &str, suggestion: Option<&str>) -> String {
    let shown: String = given.chars().take(40).collect();
    let shown = if shown.len() < given.len() {
        format!("{shown}…")
    } else {
        shown
    };
    match suggestion {
        Some(s) => format!("found {shown:?}, expected an AWS region code: did you mean {s}?"),
        None => {
            format!("found {shown:?}, expected an AWS region code such as us-east-1 or eu-west-2")
        }
    }
}

/// The catalogued region `text` names (surrounding blanks ignored), or why it names none,
/// with a "did you mean" from the catalog. Every region a person types goes through this,
/// so that `eu-wst-1` is refused at once instead of by a timeout at EC2.
///
/// ```
/// assert_eq!(amiref_regions::known_region("eu-west-1").unwrap().as_str(), "eu-west-1");
/// let wrong = amiref_regions::known_region("eu-wst-1").unwrap_err();
/// assert_eq!(wrong.suggestion, Some("eu-west-1"));
/// ```
pub fn known_region(text: &str) -> Result<Region, UnknownRegion> {
    let code = text.trim();
    find(code)
        .map(|r| r.code.clone())
        .ok_or_else(|| UnknownRegion {
            given: code.to_owned(),
            suggestion: closest_code(code),
        })
}

/// The catalogued code nearest in spelling to `code`, for "did you mean" hints.
pub(crate) fn closest_code(code: &str) -> Option<&'static str> {
    catalog()
        .iter()
        .map(|r| (strsim::levenshtein(code, r.code.as_str()), r.code.as_str()))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_parses_and_codes_are_unique() {
        assert_eq!(catalog().len(), ROWS.len());
        let mut codes: Vec<&str> = catalog().iter().map(|r| r.code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ROWS.len());
    }

    #[test]
    fn partition_matches_what_the_code_says() {
        for r in catalog() {
            assert_eq!(r.partition, r.code.partition(), "{}", r.code);
        }
    }

    #[test]
    fn recent_regions_are_present_and_opt_in() {
        for code in [
            "ap-southeast-5",
            "ap-southeast-7",
            "mx-central-1",
            "ca-west-1",
            "il-central-1",
            "me-central-1",
            "ap-south-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "eu-central-2",
            "eu-south-1",
            "eu-south-2",
            "af-south-1",
            "ap-east-1",
            "ap-east-2",
            "ap-southeast-6",
        ] {
            let r = find(code).unwrap_or_else(|| panic!("{code} missing"));
            assert!(r.opt_in, "{code} should be opt-in");
            assert_eq!(r.partition, Partition::Aws);
        }
        assert!(!find("us-east-1").unwrap().opt_in);
        assert!(!find("ap-northeast-3").unwrap().opt_in);
    }

    #[test]
    fn other_partitions_are_marked() {
        assert_eq!(
            find("us-gov-west-1").unwrap().partition,
            Partition::AwsUsGov
        );
        assert_eq!(
            find("us-gov-east-1").unwrap().partition,
            Partition::AwsUsGov
        );
        assert_eq!(find("cn-north-1").unwrap().partition, Partition::AwsCn);
        assert_eq!(find("cn-northwest-1").unwrap().partition, Partition::AwsCn);
        assert!(commercial_regions().all(|r| r.partition == Partition::Aws));
        assert_eq!(commercial_regions().count(), 34);
        assert_eq!(regions_in(Partition::AwsUsGov).count(), 2);
    }

    #[test]
    fn coordinates_are_on_the_globe() {
        for r in catalog() {
            assert!((-90.0..=90.0).contains(&r.latitude), "{}", r.code);
            assert!((-180.0..=180.0).contains(&r.longitude), "{}", r.code);
        }
    }

    #[test]
    fn distances_are_plausible() {
        let d = |a: &str, b: &str| distance_km(&a.parse().unwrap(), &b.parse().unwrap()).unwrap();
        // London-Paris is about 340 km; N. Virginia-Oregon about 3,600 km.
        assert!((300.0..400.0).contains(&d("eu-west-2", "eu-west-3")));
        assert!((3300.0..3900.0).contains(&d("us-east-1", "us-west-2")));
        assert_eq!(d("us-east-1", "us-east-1"), 0.0);
        assert!((d("eu-west-1", "ap-south-1") - d("ap-south-1", "eu-west-1")).abs() < 1e-9);
        assert_eq!(
            distance_km(
                &"us-east-1".parse().unwrap(),
                &"xx-nowhere-1".parse().unwrap()
            ),
            None
        );
    }

    #[test]
    fn closest_code_suggests_typos() {
        assert_eq!(closest_code("eu-wst-2"), Some("eu-west-2"));
        assert_eq!(closest_code("completely-different-9"), None);
    }
}
