//! The `InstanceTypes` suite: architectures per type, batched, unknown types absent; which
//! types each region offers.

use std::collections::BTreeSet;

use amiref_core::{InstanceType, InstanceTypes};

use crate::report::{Failure, ensure};
use crate::{Capabilities, Fixture, Report};

/// Checks the fixture's instance types' architectures in its region.
pub async fn run(types: &dyn InstanceTypes, fixture: &Fixture, caps: &Capabilities) -> Report {
    let mut r = Report::new("instance_types");
    r.check("architectures_of_offered_types", async {
        let asked: Vec<InstanceType> = fixture
            .instance_types
            .iter()
            .map(|(t, _)| t.clone())
            .collect();
        let got = types.architectures(&fixture.region, &asked).await?;
        for (t, archs) in &fixture.instance_types {
            let found = got
                .get(t)
                .ok_or_else(|| Failure(format!("{t} is missing from the answer: {got:?}")))?;
            ensure!(
                archs.iter().all(|a| found.contains(a)),
                "{t} runs {found:?}, expected {archs:?}"
            );
        }
        Ok(())
    })
    .await;
    r.check("unknown_types_are_absent", async {
        let unknown = InstanceType::new("zz9.nano").map_err(|e| Failure(e.to_string()))?;
        let known = fixture
            .instance_types
            .first()
            .map(|(t, _)| t.clone())
            .ok_or_else(|| Failure("the fixture has no instance types".into()))?;
        let got = types
            .architectures(&fixture.region, &[unknown.clone(), known.clone()])
            .await?;
        ensure!(
            !got.contains_key(&unknown),
            "an unknown type was answered: {got:?}"
        );
        ensure!(
            got.contains_key(&known),
            "{known} is missing next to an unknown type"
        );
        Ok(())
    })
    .await;
    r.check("offerings_answer_the_offered_types", async {
        let unknown = InstanceType::new("zz9.nano").map_err(|e| Failure(e.to_string()))?;
        let mut asked: Vec<InstanceType> = fixture
            .instance_types
            .iter()
            .map(|(t, _)| t.clone())
            .collect();
        let want: BTreeSet<InstanceType> = asked.iter().cloned().collect();
        asked.push(unknown);
        let got = types
            .offered_instance_types(&fixture.region, &asked)
            .await?;
        ensure!(
            got == want,
            "{} offers {got:?} of {asked:?}, expected {want:?}",
            fixture.region
        );
        let none = types.offered_instance_types(&fixture.region, &[]).await?;
        ensure!(none.is_empty(), "asking for nothing answered {none:?}");
        Ok(())
    })
    .await;
    r.check_if(
        caps.seeded_offerings,
        "seeded_offerings",
        "offerings_are_per_region",
        async {
            let (only, _) = &fixture.region_only_type;
            let asked = std::slice::from_ref(only);
            let here = types.offered_instance_types(&fixture.region, asked).await?;
            ensure!(
                here.contains(only),
                "{only} is not offered in {}",
                fixture.region
            );
            let there = types
                .offered_instance_types(&fixture.other_region, asked)
                .await?;
            ensure!(
                there.is_empty(),
                "{only} is offered in {}: {there:?}",
                fixture.other_region
            );
            let archs = types.architectures(&fixture.other_region, asked).await?;
            ensure!(
                archs.is_empty(),
                "{only} has architectures in {}, which does not offer it: {archs:?}",
                fixture.other_region
            );
            Ok(())
        },
    )
    .await;
    r
}
