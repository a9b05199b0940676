//! Free TCP ports: asked of the kernel (bind port 0), then released for a service to
//! bind. Another process may take the port in between; `stack::start` retries a service
//! whose port was taken.

use std::net::{IpAddr, Ipv4Addr, TcpListener};

/// A free port on 127.0.0.1, where every service of the lab listens.
pub fn free_port() -> anyhow::Result<u16> {
    free_port_on(Ipv4Addr::LOCALHOST.into())
}

/// A free port on `host` (the swarm publishes its stacks' ports on every address).
pub fn free_port_on(host: IpAddr) -> anyhow::Result<u16> {
    Ok(TcpListener::bind((host, 0))?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_bindable() {
        let port = free_port().expect("a free port");
        assert_ne!(port, 0);
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
        let port = free_port_on(Ipv4Addr::UNSPECIFIED.into()).expect("a free port");
        assert!(TcpListener::bind(("0.0.0.0", port)).is_ok());
    }
}
