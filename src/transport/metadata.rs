//! Converting between tonic's metadata maps and the scenario's view of metadata.

use tonic::metadata::{KeyAndValueRef, MetadataKey, MetadataMap, MetadataValue};

use crate::matching::{MetaValue, ReceivedMetadata};

/// Reads a metadata map: keys lower-case, `-bin` values decoded.
pub fn received_metadata(map: &MetadataMap) -> ReceivedMetadata {
    map.iter()
        .map(|entry| match entry {
            KeyAndValueRef::Ascii(key, value) => (
                key.as_str().to_string(),
                MetaValue::Text(String::from_utf8_lossy(value.as_encoded_bytes()).into_owned()),
            ),
            KeyAndValueRef::Binary(key, value) => (
                key.as_str().to_string(),
                MetaValue::Binary(value.to_bytes().map(|b| b.to_vec()).unwrap_or_default()),
            ),
        })
        .collect()
}

/// Builds a metadata map from scenario entries (already validated when the file loaded).
pub fn to_metadata_map(entries: &[(String, MetaValue)]) -> MetadataMap {
    let mut map = MetadataMap::new();
    for (key, value) in entries {
        match value {
            MetaValue::Binary(bytes) => {
                if let Ok(key) = MetadataKey::from_bytes(key.as_bytes()) {
                    map.append_bin(key, MetadataValue::from_bytes(bytes));
                }
            }
            MetaValue::Text(text) => {
                if let (Ok(key), Ok(value)) = (
                    MetadataKey::from_bytes(key.as_bytes()),
                    MetadataValue::try_from(text.as_str()),
                ) {
                    map.append(key, value);
                }
            }
        }
    }
    map
}
