//! The resolver emits a span per resolution and per tier (libraries emit; the test installs
//! the subscriber, as a binary would).
//!
//! A test binary of its own: tracing caches each callsite's interest for the whole process,
//! so a subscriber set for one thread misses spans while other tests resolve on other threads.
#![allow(clippy::unwrap_used)]

#[path = "integration/common/mod.rs"]
mod common;

use std::sync::{Arc, Mutex};

use tracing_subscriber::layer::{Context, SubscriberExt};

/// Records the name and fields of every span opened.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Spans {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={:?}", field.name(), value));
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                self.0.push_str(&format!(" {}={value}", field.name()));
            }
        }
        let mut fields = Fields(String::new());
        attrs.record(&mut fields);
        self.0
            .lock()
            .unwrap()
            .push(format!("{}{}", attrs.metadata().name(), fields.0));
    }
}

#[tokio::test(start_paused = true)]
async fn a_span_per_resolution_and_per_tier() {
    let spans = Spans::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let cloud = common::demo();
    let mut t = common::python_ml("ami_preferred", "script_provisioning", true);
    t.ami_config.as_mut().unwrap().ami_mappings.clear();
    common::resolver(&cloud)
        .resolve(&t, &"us-east-1".parse().unwrap())
        .await
        .unwrap();
    let seen = spans.0.lock().unwrap().clone();
    assert!(
        seen.contains(&"amiref.resolve template=python-ml region=us-east-1".to_owned()),
        "{seen:#?}"
    );
    for tier in ["direct_mapping", "dynamic_search"] {
        assert!(
            seen.contains(&format!("amiref.tier tier={tier}")),
            "{seen:#?}"
        );
    }
    // The search found the image: the tiers after it never opened a span.
    assert!(
        !seen.contains(&"amiref.tier tier=marketplace".to_owned()),
        "{seen:#?}"
    );
}
