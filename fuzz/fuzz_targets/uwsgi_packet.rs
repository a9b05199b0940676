//! app_sync's uwsgi packet parser (`packet_len`, then `parse_packet` on what the length
//! covers, as `serve` does): any bytes are a request or a 400/413, never a panic.
#![no_main]

use app_sync::parse::{packet_len, parse_packet, UWSGI_MAX_BODY_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(len) = packet_len(data) {
        assert!((4..=4 + usize::from(u16::MAX)).contains(&len));
        if let Some(packet) = data.get(..len) {
            if let Ok(request) = parse_packet(packet) {
                assert!(request.content_length <= UWSGI_MAX_BODY_BYTES);
                assert!(matches!(request.protocol, "HTTP/1.0" | "HTTP/1.1"));
            }
        }
    }
    let _ = parse_packet(data);
});
