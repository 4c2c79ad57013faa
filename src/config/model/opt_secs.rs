//! An optional [`Duration`] in JSON: seconds as in [`super::secs`], or
//! `null`; for the model's `#[serde(with = "opt_secs")]` fields.
//!
//! Owns: that one conversion. May not: depend on any model type.

use serde::{Deserialize, Deserializer, Serializer};
use std::time::Duration;

use super::secs;

pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => secs::serialize(d, s),
        None => s.serialize_none(),
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    match Option::<f64>::deserialize(d)? {
        Some(v) => Duration::try_from_secs_f64(v)
            .map(Some)
            .map_err(serde::de::Error::custom),
        None => Ok(None),
    }
}
