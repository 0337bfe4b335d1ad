//! Lenient JSON bodies, as SCM clients need (spec §0.2): unknown keys are ignored, `null`
//! means absent, a missing or non-object body is "no options", and a malformed body is a
//! 400 with a `description`.

use super::error::ScmError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

/// A JSON body parsed leniently into `T` (whose fields should all be optional).
pub struct Lenient<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for Lenient<T> {
    type Rejection = ScmError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ScmError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ScmError::bad_request(format!("cannot read the request body: {e}")))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Lenient(T::default()));
        }
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ScmError::bad_request(format!("the body is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Ok(Lenient(T::default()));
        }
        let value = strip_nulls(value);
        serde_json::from_value(value)
            .map(Lenient)
            .map_err(|e| ScmError::bad_request(format!("invalid request: {e}")))
    }
}

fn strip_nulls(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        other => other,
    }
}

/// An integer that may arrive as a JSON number or a string (`"12"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LooseInt(pub i64);

impl<'de> serde::Deserialize<'de> for LooseInt {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        match &value {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .map(LooseInt)
        .ok_or_else(|| serde::de::Error::custom(format!("expected an integer, got {value}")))
    }
}
