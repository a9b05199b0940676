//! loadgen's response handling (`loadgen::read_response`: loadgen's HTTP/1.1 client, its body
//! reading and failure classification, over an in-memory connection): any bytes a server
//! sends are counted as complete or failed, never a hang or a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadgen::ResponseOutcome;

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
}

fuzz_target!(|data: &[u8]| {
    let outcome = RUNTIME.with(|runtime| runtime.block_on(loadgen::read_response(data)));
    assert_ne!(outcome, ResponseOutcome::Hung, "a response the load would wait on forever");
});
