//! The estimate model: launch times, setup costs and copy costs from stated inputs.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use amiref_core::{Image, InstanceType, Region, ResolutionMethod};
use amiref_regions::Prices;
use amiref_strategies::{CopyEstimate, CopyEstimator};

/// When the built-in instance prices were recorded.
pub const INSTANCE_PRICES_AS_OF: &str = "2025-01-15";

/// Where the built-in instance prices come from.
pub const INSTANCE_PRICES_SOURCE: &str = "AWS, Amazon EC2 On-Demand pricing, Linux, \
US East (N. Virginia) (https://aws.amazon.com/ec2/pricing/on-demand/), USD per hour before \
discounts, as recorded on 2025-01-15; used for every region that the table (or a user \
price file) does not list separately";

/// us-east-1 on-demand Linux prices, USD per hour (see [`INSTANCE_PRICES_SOURCE`]).
const BUILTIN_PRICES: &[(&str, f64)] = &[
    ("t3.micro", 0.0104),
    ("t3.small", 0.0208),
    ("t3.medium", 0.0416),
    ("t3.large", 0.0832),
    ("t3.xlarge", 0.1664),
    ("t3.2xlarge", 0.3328),
    ("t4g.micro", 0.0084),
    ("t4g.small", 0.0168),
    ("t4g.medium", 0.0336),
    ("t4g.large", 0.0672),
    ("t4g.xlarge", 0.1344),
    ("t4g.2xlarge", 0.2688),
    ("m5.large", 0.096),
    ("m5.xlarge", 0.192),
    ("m6i.large", 0.096),
    ("m6i.xlarge", 0.192),
    ("m6i.2xlarge", 0.384),
    ("m6i.4xlarge", 0.768),
    ("m6g.large", 0.077),
    ("m6g.xlarge", 0.154),
    ("m6g.2xlarge", 0.308),
    ("m7i.large", 0.1008),
    ("m7i.xlarge", 0.2016),
    ("m7g.large", 0.0816),
    ("m7g.xlarge", 0.1632),
    ("c6i.large", 0.085),
    ("c6i.xlarge", 0.17),
    ("c6i.2xlarge", 0.34),
    ("c6g.large", 0.068),
    ("c6g.xlarge", 0.136),
    ("c6g.2xlarge", 0.272),
    ("c7g.large", 0.0725),
    ("c7g.xlarge", 0.145),
    ("r6i.large", 0.126),
    ("r6i.xlarge", 0.252),
    ("r6g.large", 0.1008),
    ("r6g.xlarge", 0.2016),
    ("g4dn.xlarge", 0.526),
    ("g5.xlarge", 1.006),
    ("g5.2xlarge", 1.212),
    ("p3.2xlarge", 3.06),
];

/// A problem with a user price file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PriceFileError {
    /// The file could not be read.
    #[error("cannot read price file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid price file.
    #[error(
        "{origin}:{line}:{column}: {message}; expected a price file: `as_of: <date>`, `source: <text>`, `prices: {{<instance type>: <USD per hour>}}`, `regions: {{<region>: {{<instance type>: <USD per hour>}}}}`"
    )]
    Invalid {
        /// The file name or origin.
        origin: String,
        /// 1-based line, 0 when unknown.
        line: usize,
        /// 1-based column, 0 when unknown.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// On-demand instance prices: a dated default table and per-region entries.
///
/// [`InstancePrices::builtin`] ships us-east-1 Linux prices ([`INSTANCE_PRICES_AS_OF`]);
/// [`InstancePrices::overridden_by`] lays a user's file over it. A type missing from the
/// table has no price, and estimates that need one say "unknown" rather than guess.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstancePrices {
    /// When the prices were recorded.
    pub as_of: String,
    /// Where they come from.
    pub source: String,
    /// USD per hour by instance type, for every region not listed in `regions`.
    #[serde(default)]
    pub prices: BTreeMap<String, f64>,
    /// USD per hour by region, then instance type.
    #[serde(default)]
    pub regions: BTreeMap<Region, BTreeMap<String, f64>>,
}

impl InstancePrices {
    /// The built-in table.
    pub fn builtin() -> Self {
        Self {
            as_of: INSTANCE_PRICES_AS_OF.to_owned(),
            source: INSTANCE_PRICES_SOURCE.to_owned(),
            prices: BUILTIN_PRICES
                .iter()
                .map(|&(t, p)| (t.to_owned(), p))
                .collect(),
            regions: BTreeMap::new(),
        }
    }

    /// Parses a price file (YAML); `origin` names it in errors. Every error is located:
    /// a bad entry (a key that is not an instance type, a negative price) at its key or
    /// value, the first in the text named, with how many more there are.
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Self, PriceFileError> {
        use amiref_yaml::{Document, FieldPath, Location, Segment, Target, YamlError, shorten};
        let invalid = |at: Location, path: &FieldPath, found: &str, expected: &str| {
            let field = if path.is_root() {
                String::new()
            } else {
                format!("{path}: ")
            };
            PriceFileError::Invalid {
                origin: origin.to_owned(),
                line: at.line,
                column: at.column,
                message: format!("{field}found {found}, expected {expected}"),
            }
        };
        let refused = |e: YamlError| {
            let at = e.location().unwrap_or(Location::START);
            invalid(at, &e.path(), &e.found(), &e.expected())
        };
        let doc = Document::parse(text, origin).map_err(refused)?;
        let parsed: Self = doc.deserialize().map_err(refused)?;
        let general = parsed
            .prices
            .iter()
            .map(|(t, p)| (vec!["prices".to_owned()], t, p));
        let regional = parsed.regions.iter().flat_map(|(region, prices)| {
            let base = vec!["regions".to_owned(), region.as_str().to_owned()];
            prices.iter().map(move |(t, p)| (base.clone(), t, p))
        });
        let mut bad: Vec<_> = general
            .chain(regional)
            .filter_map(|(base, t, price)| {
                let path: FieldPath = base
                    .into_iter()
                    .chain([t.clone()])
                    .map(Segment::Key)
                    .collect();
                let (target, found, expected) = match InstanceType::new(t.as_str()) {
                    Err(e) => (
                        Target::Key,
                        format!("{:?}", shorten(t)),
                        e.expected.to_owned(),
                    ),
                    Ok(_) if !(price.is_finite() && *price >= 0.0) => (
                        Target::Value,
                        price.to_string(),
                        "a price in USD per hour, 0 or more".to_owned(),
                    ),
                    Ok(_) => return None,
                };
                let at = doc.locate_nearest(path.steps(), target);
                Some((at, path, found, expected))
            })
            .collect();
        bad.sort_by_key(|(at, ..)| *at);
        match bad.first() {
            None => Ok(parsed),
            Some((at, path, found, expected)) => {
                let more = match bad.len() - 1 {
                    0 => String::new(),
                    1 => " (and 1 more bad entry)".to_owned(),
                    n => format!(" (and {n} more bad entries)"),
                };
                Err(invalid(*at, path, found, &format!("{expected}{more}")))
            }
        }
    }

    /// Reads a price file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, PriceFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PriceFileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_yaml_str(&text, &path.display().to_string())
    }

    /// This table with `user`'s entries laid over it; the date and source become the
    /// user's.
    #[must_use]
    pub fn overridden_by(mut self, user: Self) -> Self {
        self.prices.extend(user.prices);
        for (region, prices) in user.regions {
            self.regions.entry(region).or_default().extend(prices);
        }
        self.as_of = user.as_of;
        self.source = format!(
            "{} (over the built-in table of {})",
            user.source, INSTANCE_PRICES_AS_OF
        );
        self
    }

    /// USD per hour of `instance_type` in `region`: the region's own entry, else the
    /// default table's.
    pub fn hourly(&self, region: &Region, instance_type: &InstanceType) -> Option<f64> {
        self.regions
            .get(region)
            .and_then(|r| r.get(instance_type.as_str()))
            .or_else(|| self.prices.get(instance_type.as_str()))
            .copied()
    }
}

/// The inputs every estimate is computed from. Each is a stated assumption, printed with
/// the estimate, never a measurement.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EstimateModel {
    /// Time from launch to a usable instance with a direct-mapped image (default 30 s).
    pub direct_mapping_launch: Duration,
    /// ... with an image found by search (default 45 s: the search, then the launch).
    pub dynamic_search_launch: Duration,
    /// ... with a registry image (default 45 s, as a search).
    pub community_registry_launch: Duration,
    /// ... with a Marketplace image (default 60 s: subscription check and the launch).
    pub marketplace_launch: Duration,
    /// Provisioning time of a script when the template states none (default 6 min).
    pub default_script_time: Duration,
    /// Fixed part of a cross-region copy: scheduling and registration (default 2 min).
    pub copy_overhead: Duration,
    /// Copy throughput, GiB per minute (default 2.0).
    pub copy_gib_per_minute: f64,
    /// Size assumed for an image whose volume sizes are unknown (default 8 GiB).
    pub default_image_size_gib: u64,
    /// Instance prices.
    pub instance_prices: InstancePrices,
    /// Transfer and storage prices.
    pub region_prices: Prices,
}

impl Default for EstimateModel {
    fn default() -> Self {
        Self {
            direct_mapping_launch: Duration::from_secs(30),
            dynamic_search_launch: Duration::from_secs(45),
            community_registry_launch: Duration::from_secs(45),
            marketplace_launch: Duration::from_secs(60),
            default_script_time: Duration::from_secs(6 * 60),
            copy_overhead: Duration::from_secs(2 * 60),
            copy_gib_per_minute: 2.0,
            default_image_size_gib: 8,
            instance_prices: InstancePrices::builtin(),
            region_prices: Prices::builtin(),
        }
    }
}

impl EstimateModel {
    /// With other instance prices.
    #[must_use]
    pub fn with_instance_prices(mut self, prices: InstancePrices) -> Self {
        self.instance_prices = prices;
        self
    }

    /// The launch time of an image found by `method` (a copy's time is added separately).
    /// A caller's own tier names one image, as a direct mapping does.
    pub fn image_launch_time(&self, method: &ResolutionMethod) -> Duration {
        match method {
            ResolutionMethod::DynamicSearch => self.dynamic_search_launch,
            ResolutionMethod::CommunityRegistry => self.community_registry_launch,
            ResolutionMethod::Marketplace => self.marketplace_launch,
            _ => self.direct_mapping_launch,
        }
    }

    /// The script's provisioning time: the template's `provisioning_time`, else the default.
    pub fn script_time(&self, template: &amiref_template::Template) -> Duration {
        template
            .provisioning_time
            .map_or(self.default_script_time, |d| d.get())
    }

    /// The size a copy of `image` moves: its EBS volumes (an upper bound: snapshots are
    /// incremental), or the default size when unknown.
    pub fn image_size_gib(&self, image: &Image) -> u64 {
        match image.total_volume_size_gib() {
            0 => self.default_image_size_gib,
            n => n,
        }
    }

    /// A copy of `image` into `destination`.
    pub fn copy(&self, image: &Image, destination: &Region) -> CopyEstimate {
        let size = self.image_size_gib(image);
        let minutes = size as f64 / self.copy_gib_per_minute.max(f64::MIN_POSITIVE);
        let duration = self.copy_overhead + Duration::from_secs_f64((minutes * 60.0).min(1e9));
        let transfer = size as f64
            * self
                .region_prices
                .transfer_per_gb(&image.region, destination);
        let storage = size as f64
            * self
                .region_prices
                .snapshot_storage_per_gb_month(destination);
        CopyEstimate::new(size, duration, transfer, storage)
    }

    /// The assumptions behind estimates, for people.
    pub fn stated_inputs(&self) -> Vec<String> {
        vec![
            format!(
                "launch: {}s direct mapping, SSM parameter or a caller's own tier, {}s search, {}s registry, {}s marketplace",
                self.direct_mapping_launch.as_secs(),
                self.dynamic_search_launch.as_secs(),
                self.community_registry_launch.as_secs(),
                self.marketplace_launch.as_secs()
            ),
            format!(
                "script: the template's provisioning_time, else {} min",
                self.default_script_time.as_secs() / 60
            ),
            format!(
                "copy: {} min + size / {} GiB per minute; size = EBS volume sizes (else {} GiB)",
                self.copy_overhead.as_secs() / 60,
                self.copy_gib_per_minute,
                self.default_image_size_gib
            ),
            "setup cost = instance hourly price x setup time".to_owned(),
            "copy cost = size x transfer price + size x snapshot storage per month".to_owned(),
            format!(
                "instance prices as of {}: {}",
                self.instance_prices.as_of, self.instance_prices.source
            ),
            format!(
                "transfer and storage prices as of {}",
                self.region_prices.as_of()
            ),
        ]
    }
}

/// The model as the cross-region tier's copy estimator.
#[derive(Debug, Clone)]
pub(crate) struct ModelCopyEstimator(pub(crate) std::sync::Arc<EstimateModel>);

impl CopyEstimator for ModelCopyEstimator {
    fn estimate_copy(&self, image: &Image, destination: &Region) -> CopyEstimate {
        self.0.copy(image, destination)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amiref_core::{Architecture, BlockDevice};

    #[test]
    fn user_file_overrides_and_regional_entries_win() {
        let user = InstancePrices::from_yaml_str(
            "as_of: 2026-01-01\nsource: my bill\nprices:\n  m6i.large: 0.5\nregions:\n  eu-west-1:\n    m6i.large: 0.7\n",
            "prices.yaml",
        )
        .unwrap();
        let p = InstancePrices::builtin().overridden_by(user);
        let t = InstanceType::new("m6i.large").unwrap();
        assert_eq!(p.hourly(&"us-east-1".parse().unwrap(), &t), Some(0.5));
        assert_eq!(p.hourly(&"eu-west-1".parse().unwrap(), &t), Some(0.7));
        assert_eq!(
            p.hourly(&"eu-west-1".parse().unwrap(), &"t4g.large".parse().unwrap()),
            Some(0.0672)
        );
        let err = InstancePrices::from_yaml_str("as_of: x\nsource: y\nprice: {}\n", "p.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.yaml:3:1:"), "{err}");
    }

    #[test]
    fn bad_price_entries_are_located() {
        let text = "as_of: x\nsource: y\nprices:\n  m6i.large: -1\n  big: 2\nregions:\n  eu-west-1:\n    t4g.micro: -0.5\n";
        let err = InstancePrices::from_yaml_str(text, "p.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "p.yaml:4:14: prices[\"m6i.large\"]: found -1, expected a price in USD per hour, 0 or more (and 2 more bad entries);"
            ),
            "{err}"
        );
        let err =
            InstancePrices::from_yaml_str("as_of: x\nsource: y\nprices:\n  big: 2\n", "p.yaml")
                .unwrap_err()
                .to_string();
        assert!(
            err.starts_with("p.yaml:4:3: prices.big: found \"big\", expected "),
            "{err}"
        );
        let err = InstancePrices::from_yaml_str("as_of: x\nsource: y\n---\nas_of: z\n", "p.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("p.yaml:3:1: found a second YAML document"),
            "{err}"
        );
        let err = InstancePrices::from_yaml_str(
            "as_of: x\nsource: y\nprices: {m6i.large: cheap}\n",
            "p.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(
                "p.yaml:3:21: prices[\"m6i.large\"]: found string \"cheap\", expected f64"
            ),
            "{err}"
        );
    }

    #[test]
    fn copy_cost_is_size_times_prices_and_time_follows_throughput() {
        let model = EstimateModel::default();
        let mut image = Image::new(
            "ami-12345678".parse().unwrap(),
            "ap-southeast-1".parse().unwrap(),
            "x",
            "123456789012".parse().unwrap(),
            Architecture::X86_64,
            chrono::DateTime::UNIX_EPOCH,
        );
        image.block_devices.push(BlockDevice {
            device_name: "/dev/xvda".into(),
            snapshot_id: None,
            volume_size_gib: Some(20),
            encrypted: false,
        });
        let dest: Region = "ap-south-1".parse().unwrap();
        let e = model.copy(&image, &dest);
        assert_eq!(e.size_gib, 20);
        assert_eq!(e.duration, Duration::from_secs(2 * 60 + 10 * 60));
        let prices = Prices::builtin();
        let expected = 20.0 * prices.transfer_per_gb(&image.region, &dest);
        assert!((e.transfer_cost_usd - expected).abs() < 1e-9);
    }
}
