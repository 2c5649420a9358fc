//! The fast reader: a serde deserializer over [`Events`]. It is strict: where serde-saphyr
//! might read a value differently, or might refuse it, it stops, and the file goes to
//! serde-saphyr (see [`super`]).

use std::collections::HashSet;
use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};

use super::super::node::AT_MARKER;
use super::events::{Ev, Events, Unsupported};
use super::scalar::{self, Meaning};
use super::Watched;

/// `text` read into `T`, with the scalars written under the `watch` keys; `None` when the
/// fast reader leaves the file to serde-saphyr.
pub(in crate::scenario) fn read<'a, T: DeserializeOwned>(
    text: &'a str,
    watch: &'static [&'static str],
) -> Option<(T, Vec<Watched<'a>>)> {
    let mut reader = Reader {
        events: Events::new(text).ok()?,
        keys: Vec::new(),
        watch,
        watched: Vec::new(),
    };
    let value = T::deserialize(&mut reader).ok()?;
    reader.events.finish().ok()?;
    Some((value, reader.watched))
}

struct Reader<'a> {
    events: Events<'a>,
    /// The keys of the mappings being read, outermost first (one list for all, so that a
    /// mapping costs no allocation of its own).
    keys: Vec<&'a str>,
    /// The keys whose scalar values are noted.
    watch: &'static [&'static str],
    /// The scalars noted, in file order.
    watched: Vec<Watched<'a>>,
}

impl de::Error for Unsupported {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

impl std::error::Error for Unsupported {}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("left to serde-saphyr")
    }
}

type Result<T> = std::result::Result<T, Unsupported>;

impl<'a> Reader<'a> {
    /// The next event, a scalar: its text and whether it was plain.
    fn scalar(&mut self) -> Result<(&'a str, bool)> {
        match self.events.next()? {
            Ev::Scalar { text, plain, .. } => Ok((text, plain)),
            _ => Err(Unsupported),
        }
    }
}

impl<'de> de::Deserializer<'de> for &mut Reader<'_> {
    type Error = Unsupported;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.events.next()? {
            Ev::Scalar { text, plain, .. } => match scalar::meaning(text, plain) {
                Some(Meaning::Null) => visitor.visit_unit(),
                Some(Meaning::Bool(b)) => visitor.visit_bool(b),
                Some(Meaning::Int(i)) => visitor.visit_i64(i),
                Some(Meaning::UInt(u)) => visitor.visit_u64(u),
                Some(Meaning::Text) => visitor.visit_str(text),
                None => Err(Unsupported),
            },
            Ev::SeqStart(_) => visitor.visit_seq(Items { reader: self }),
            Ev::MapStart(_) => visitor.visit_map(Entries::new(self)),
            Ev::SeqEnd | Ev::MapEnd => Err(Unsupported),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let (text, _) = self.scalar()?;
        visitor.visit_bool(scalar::boolean(text).ok_or(Unsupported)?)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.scalar()? {
            (text, plain) if !scalar::is_null(text, plain) => visitor.visit_str(text),
            _ => Err(Unsupported),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_string(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.events.peek()? {
            Ev::Scalar { text, plain, .. } if scalar::is_null(text, *plain) => {
                self.events.next()?;
                visitor.visit_none()
            }
            Ev::SeqEnd | Ev::MapEnd => Err(Unsupported),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.events.next()? {
            Ev::SeqStart(_) => visitor.visit_seq(Items { reader: self }),
            _ => Err(Unsupported),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.events.next()? {
            Ev::MapStart(_) => visitor.visit_map(Entries::new(self)),
            _ => Err(Unsupported),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_map(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        if name != AT_MARKER {
            return visitor.visit_newtype_struct(self);
        }
        let pos = self.events.peek()?.pos().ok_or(Unsupported)?;
        visitor.visit_seq(Positioned {
            reader: Some(self),
            parts: [Some(pos.line), Some(pos.column)],
        })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(Unsupported)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit
        unit_struct tuple tuple_struct enum
    }
}

/// A sequence's items.
struct Items<'r, 'a> {
    reader: &'r mut Reader<'a>,
}

impl<'de> SeqAccess<'de> for Items<'_, '_> {
    type Error = Unsupported;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if let Ev::SeqEnd = self.reader.events.peek()? {
            self.reader.events.next()?;
            return Ok(None);
        }
        seed.deserialize(&mut *self.reader).map(Some)
    }
}

/// A mapping's entries; a key written twice stops the reader, as serde-saphyr refuses it.
struct Entries<'r, 'a> {
    reader: &'r mut Reader<'a>,
    /// Where this mapping's keys start in the reader's list.
    first_key: usize,
    /// This mapping's keys once it has more than [`FEW_KEYS`]: a long mapping (thousands
    /// of `vars:`) is then checked in constant time a key, not against every key before.
    many: Option<HashSet<&'a str>>,
    /// The key whose value is read next.
    key: Option<&'a str>,
}

/// The most keys a mapping's new key is compared with one by one.
const FEW_KEYS: usize = 16;

impl<'r, 'a> Entries<'r, 'a> {
    fn new(reader: &'r mut Reader<'a>) -> Self {
        let first_key = reader.keys.len();
        Entries {
            reader,
            first_key,
            many: None,
            key: None,
        }
    }

    /// Notes a key; `false` when the mapping already has it.
    fn first_time(&mut self, key: &'a str) -> bool {
        if let Some(many) = &mut self.many {
            return many.insert(key);
        }
        let keys = &mut self.reader.keys;
        if keys[self.first_key..].contains(&key) {
            return false;
        }
        keys.push(key);
        if keys.len() - self.first_key > FEW_KEYS {
            self.many = Some(keys.drain(self.first_key..).collect());
        }
        true
    }
}

impl<'de, 'a> MapAccess<'de> for Entries<'_, 'a> {
    type Error = Unsupported;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let key = match *self.reader.events.peek()? {
            Ev::MapEnd => None,
            Ev::Scalar { text, .. } => Some(text),
            _ => return Err(Unsupported),
        };
        match key {
            None => {
                self.reader.events.next()?;
                self.reader.keys.truncate(self.first_key);
                Ok(None)
            }
            Some(key) if scalar::is_plain_key(key) && self.first_time(key) => {
                self.key = Some(key);
                seed.deserialize(&mut *self.reader).map(Some)
            }
            Some(_) => Err(Unsupported),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let reader = &mut *self.reader;
        if let (Some(key), &Ev::Scalar { text, pos, .. }) = (self.key, reader.events.peek()?) {
            if reader.watch.contains(&key) {
                reader.watched.push(Watched {
                    key,
                    value: text,
                    pos,
                });
            }
        }
        seed.deserialize(reader)
    }
}

/// [`super::super::node::At`]'s answer: the line, the column, then the value.
struct Positioned<'r, 'a> {
    reader: Option<&'r mut Reader<'a>>,
    parts: [Option<u32>; 2],
}

impl<'de> SeqAccess<'de> for Positioned<'_, '_> {
    type Error = Unsupported;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if let Some(part) = self.parts.iter_mut().find_map(Option::take) {
            return seed.deserialize(part.into_deserializer()).map(Some);
        }
        match self.reader.take() {
            Some(reader) => seed.deserialize(reader).map(Some),
            None => Ok(None),
        }
    }
}
