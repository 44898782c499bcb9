//! The baseline server: actix-web with one handler that answers every path and method with the
//! same small JSON document. It reads the request body (as tokend must) but does no other work,
//! so its throughput is the ceiling this machine, this framework and this load generator allow.

use actix_web::{App, HttpResponse, HttpServer, web};

/// About the size of tokend's `/api/v1/me` answer, so both send similar bytes.
const BODY: &str = r#"{"learning_area":{"id":1,"name":"Baseline"},"access_token":{"name":"baseline","client_id":"tkc_0000000000000000000000000000","expires_at":"2030-01-01T00:00:00Z"}}"#;

async fn fixed(_body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(BODY)
}

pub fn run(bind: &str, workers: Option<usize>) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        let mut server = HttpServer::new(|| App::new().default_service(web::to(fixed))).shutdown_timeout(1);
        if let Some(workers) = workers {
            server = server.workers(workers);
        }
        let server = server.bind(bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        for addr in server.addrs() {
            // The same banner shape as tokend's, so the xtask finds the port the same way.
            println!("baseline listening on http://{addr}");
        }
        server.run().await.map_err(|e| e.to_string())
    })
}
