//! Latency histograms in a form that travels: HdrHistogram's V2 compressed encoding
//! (deflate), in standard base64 — the form every HdrHistogram library reads, so reports
//! from many machines merge into the histogram of all their samples.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use hdrhistogram::Histogram;

/// Significant decimal digits the latency histograms keep.
pub(super) const SIGNIFICANT_DIGITS: u8 = 3;

/// An empty latency histogram in nanoseconds, growing to the largest value recorded.
pub(super) fn histogram() -> Histogram<u64> {
    Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits is a valid precision")
}

/// `histogram` as base64 of its V2 compressed encoding.
pub(super) fn encode(histogram: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .expect("a histogram encodes into memory");
    STANDARD.encode(bytes)
}

/// The histogram that [`encode`] wrote; the error says what is wrong with `text`.
pub(super) fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| format!("not base64 ({e})"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram V2 encoding ({e:?})"))
}

/// Adds `other` into `total` (an auto-resizing histogram from [`histogram`]).
pub(super) fn add(total: &mut Histogram<u64>, other: &Histogram<u64>) {
    total
        .add(other)
        .expect("an auto-resizing histogram takes any other");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
        let mut histogram = histogram();
        for value in values {
            histogram.record(value).unwrap();
        }
        histogram
    }

    #[test]
    fn a_histogram_survives_encoding_value_for_value() {
        let original = sample((1..=5000u64).map(|n| n * n * 97));
        let decoded = decode(&encode(&original)).unwrap();
        assert_eq!(decoded, original);
        assert_eq!(decoded.len(), 5000);
        assert_eq!(
            decoded.value_at_quantile(0.99),
            original.value_at_quantile(0.99)
        );
    }

    #[test]
    fn decoded_histograms_add_up_to_the_histogram_of_all_samples() {
        let (low, high) = (1..=1000u64, 1_000_000..=1_001_000u64);
        let mut total = histogram();
        add(&mut total, &decode(&encode(&sample(low.clone()))).unwrap());
        add(&mut total, &decode(&encode(&sample(high.clone()))).unwrap());
        assert_eq!(total, sample(low.chain(high)));
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert!(decode("not base64!").unwrap_err().contains("not base64"));
        let error = decode(&STANDARD.encode(b"\x1c\x84\x93\x14 truncated")).unwrap_err();
        assert!(error.contains("not an HdrHistogram V2 encoding"), "{error}");
    }
}
