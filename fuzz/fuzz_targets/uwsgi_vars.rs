//! app_sync's uwsgi vars parser (`parse_vars`): any block is vars that account for every
//! byte, or a reason.
#![no_main]

use app_sync::parse::parse_vars;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(vars) = parse_vars(data) {
        let encoded: usize = vars.iter().map(|(k, v)| 4 + k.len() + v.len()).sum();
        assert_eq!(encoded, data.len());
    }
});
