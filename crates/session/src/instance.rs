//! Finding the instance a person means: by id, or by its `Name` tag (what `launch NAME`
//! gave it).

use std::fmt;

use amiref_core::{Instance, InstanceFilter, InstanceId, InstanceState, Region};
use serde::Serialize;

use crate::{Session, SessionError};

/// An instance as a person names it: its id, or its name (the `Name` tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum InstanceRef {
    /// By id.
    Id(InstanceId),
    /// By name: the value of its `Name` tag, matched exactly.
    Name(String),
}

impl InstanceRef {
    /// What `text` names: an instance id when it is one (`i-` and 8 or 17 hex digits),
    /// else a name.
    pub fn parse(text: &str) -> Self {
        match text.parse::<InstanceId>() {
            Ok(id) => Self::Id(id),
            Err(_) => Self::Name(text.to_owned()),
        }
    }
}

impl From<InstanceId> for InstanceRef {
    fn from(id: InstanceId) -> Self {
        Self::Id(id)
    }
}

impl fmt::Display for InstanceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "instance {id}"),
            Self::Name(name) => write!(f, "instance named {name:?}"),
        }
    }
}

/// The instance an operation works on, as the report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct InstanceSummary {
    /// Its id.
    pub id: InstanceId,
    /// Its name (`Name` tag), if it has one.
    pub name: Option<String>,
    /// The region it runs in.
    pub region: Region,
    /// Its state when it was looked up.
    #[schemars(with = "String")]
    pub state: InstanceState,
}

impl From<&Instance> for InstanceSummary {
    fn from(i: &Instance) -> Self {
        Self {
            id: i.id.clone(),
            name: i.name().map(str::to_owned),
            region: i.region.clone(),
            state: i.state,
        }
    }
}

impl Session {
    /// The instance `reference` names in `region`. A name must name exactly one instance
    /// that is not terminated (names are tags: nothing keeps them unique); an instance that
    /// is gone cannot be imaged and is refused.
    pub async fn find_instance(
        &self,
        region: &Region,
        reference: &InstanceRef,
    ) -> Result<Instance, SessionError> {
        let filter = match reference {
            InstanceRef::Id(id) => InstanceFilter::ids([id.clone()]),
            // `*` and `?` in a name are wildcards to EC2: the pattern may match more
            // than the name, never less, and the exact match is kept below.
            InstanceRef::Name(name) => InstanceFilter::named(name.clone()),
        };
        let found = self
            .cloud()
            .describe_instances(region, &filter)
            .await
            .map_err(|e| {
                SessionError::cloud(format!("looking up the {reference} in {region}"), e)
            })?;
        let (live, gone): (Vec<Instance>, Vec<Instance>) = found
            .into_iter()
            .filter(|i| match reference {
                InstanceRef::Id(id) => &i.id == id,
                InstanceRef::Name(name) => i.name() == Some(name.as_str()),
            })
            .partition(|i| !i.state.is_gone());
        if live.len() > 1 {
            return Err(SessionError::InstanceAmbiguous {
                name: reference.to_string(),
                region: region.clone(),
                ids: live.into_iter().map(|i| i.id).collect(),
            });
        }
        match (live.into_iter().next(), gone.into_iter().next()) {
            (Some(instance), _) => Ok(instance),
            (None, Some(g)) => Err(SessionError::InstanceGone {
                id: g.id,
                region: region.clone(),
                state: g.state.to_string(),
            }),
            (None, None) => Err(SessionError::InstanceNotFound {
                reference: reference.clone(),
                region: region.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_an_id_and_anything_else_a_name() {
        assert!(matches!(
            InstanceRef::parse("i-0123456789abcdef0"),
            InstanceRef::Id(_)
        ));
        assert_eq!(
            InstanceRef::parse("my-research"),
            InstanceRef::Name("my-research".into())
        );
        assert_eq!(
            InstanceRef::parse("i-nothex"),
            InstanceRef::Name("i-nothex".into())
        );
    }
}
