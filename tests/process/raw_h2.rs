//! A raw HTTP/2 peer for tests that need answers no gRPC stack would send.

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Accepts one connection on `listener` and one request on it, reads the request body to
/// its end, and returns the handle to answer with and the task that drives the connection
/// (abort it once the answer has gone).
pub(crate) async fn accept_call(
    listener: TcpListener,
) -> (h2::server::SendResponse<bytes::Bytes>, JoinHandle<()>) {
    let (socket, _) = listener.accept().await.expect("the client connects");
    let mut connection = h2::server::handshake(socket).await.expect("HTTP/2");
    let (request, respond) = connection
        .accept()
        .await
        .expect("a request")
        .expect("a valid request");
    let driver = tokio::spawn(async move { while connection.accept().await.is_some() {} });
    let mut body = request.into_body();
    while let Some(Ok(_)) = body.data().await {}
    (respond, driver)
}
