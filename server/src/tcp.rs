//! The server's TCP acceptor: poem's, with Nagle's algorithm turned off on every accepted
//! connection (`TCP_NODELAY`). Everything the server writes is a small message written whole — a
//! live delivery's frame, a ping, a GraphQL response — and with Nagle on, a second small write waits
//! for the client to acknowledge the first, which Linux delays by up to 40 ms. Go's and Node's
//! servers turn it off by default; poem leaves it on.

use std::io;

use poem::http::uri::Scheme;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::{LocalAddr, RemoteAddr};
use tokio::net::TcpStream;

pub struct NoDelay(pub TcpAcceptor);

impl Acceptor for NoDelay {
    type Io = TcpStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.0.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let (io, local, remote, scheme) = self.0.accept().await?;
        // A connection that cannot take the option is still served, as it would have been.
        if let Err(e) = io.set_nodelay(true) {
            tracing::debug!(error = %e, remote = %remote, "TCP_NODELAY not set");
        }
        Ok((io, local, remote, scheme))
    }
}

#[cfg(test)]
mod tests {
    use poem::listener::{Acceptor, Listener, TcpListener};

    use super::NoDelay;

    #[tokio::test]
    async fn accepted_connections_write_without_waiting_for_acknowledgements() {
        let plain = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bound");
        let addr = plain.local_addr()[0].as_socket_addr().copied().expect("a socket address");
        let mut acceptor = NoDelay(plain);
        let client = tokio::net::TcpStream::connect(addr).await.expect("connected");
        let (io, _, _, _) = acceptor.accept().await.expect("accepted");
        assert!(!client.nodelay().expect("readable"), "a socket starts with Nagle on");
        assert!(io.nodelay().expect("readable"), "the server's end has TCP_NODELAY");
    }
}
