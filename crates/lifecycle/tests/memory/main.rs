//! Every lifecycle operation on the in-process cloud, with a paused tokio clock.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod copy;
mod copy_to_region;
mod create;
mod deprecate;
mod governance;
mod publish;
mod retention_properties;
mod retire;
mod retire_steps;
mod share;
mod write_ahead;

use std::sync::Mutex;

use amiref_core::{AccountId, AmiId, Architecture, Image, InstanceId, InstanceType, Region};
use amiref_lifecycle::{ProgressEvent, ProgressSink, TemplateLineage};
use amiref_memory::{ImageSeed, InstanceSeed, MemoryCloud, MemoryCloudBuilder};
use chrono::{TimeZone, Utc};

pub(crate) fn region(code: &str) -> Region {
    code.parse().unwrap()
}

pub(crate) fn ami(id: &str) -> AmiId {
    id.parse().unwrap()
}

pub(crate) fn me() -> AccountId {
    "123456789012".parse().unwrap()
}

pub(crate) fn other_account() -> AccountId {
    "210987654321".parse().unwrap()
}

pub(crate) const BASE: &str = "ami-0aaaaaaaaaaaaaaa0";
pub(crate) const INSTANCE: &str = "i-0123456789abcdef0";

pub(crate) fn instance() -> InstanceId {
    INSTANCE.parse().unwrap()
}

pub(crate) fn lineage() -> TemplateLineage {
    TemplateLineage::new("python-ml", Some("2.1.0".into()), "ab".repeat(32))
}

/// A world with a base image and a running instance in us-east-1, and three more regions.
pub(crate) fn world() -> MemoryCloudBuilder {
    let use1 = region("us-east-1");
    let base = Image::new(
        ami(BASE),
        use1.clone(),
        "al2023-base",
        me(),
        Architecture::X86_64,
        Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap(),
    );
    MemoryCloud::builder()
        .caller(me())
        .region(region("us-west-2"))
        .region(region("eu-west-1"))
        .region(region("ap-southeast-1"))
        .instance_type(
            "m5.large".parse::<InstanceType>().unwrap(),
            [Architecture::X86_64],
        )
        .image(ImageSeed::new(base).root_volume(8, false))
        .instance(InstanceSeed::new(
            instance(),
            use1,
            ami(BASE),
            "m5.large".parse().unwrap(),
        ))
}

/// Records every progress event, and runs a hook on each (to inject faults mid-operation).
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) events: Mutex<Vec<ProgressEvent>>,
    #[allow(clippy::type_complexity)]
    pub(crate) hook: Option<Box<dyn Fn(&ProgressEvent) + Send + Sync>>,
}

impl Recorder {
    pub(crate) fn with_hook(hook: impl Fn(&ProgressEvent) + Send + Sync + 'static) -> Self {
        Self {
            events: Mutex::default(),
            hook: Some(Box::new(hook)),
        }
    }

    pub(crate) fn events(&self) -> Vec<ProgressEvent> {
        self.events.lock().unwrap().clone()
    }
}

impl ProgressSink for Recorder {
    fn emit(&self, event: ProgressEvent) {
        if let Some(hook) = &self.hook {
            hook(&event);
        }
        self.events.lock().unwrap().push(event);
    }
}
