//! The outside providers' local stand-ins as one process, for the docker-compose demo (and
//! anyone trying production mode on a laptop): Aliyun SMS on :9101, JPush on :9102 and e签宝 on
//! :9103, each checking requests as the real provider does (the same fakes the tests use). Every
//! SMS code delivered is printed, so `docker compose logs fakes` shows the code to sign in with.
//! On start it also writes a self-signed certificate for `localhost` to `XQT_FAKES_TLS_DIR`
//! (`cert.pem`, `key.pem`) when none is there, for the server's `tls.cert_file`.

use std::path::PathBuf;
use std::time::Duration;

use xqt_tests::aliyun::FakeAliyun;
use xqt_tests::esign::FakeEsign;
use xqt_tests::jpush::FakeJpush;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let host = std::env::var("XQT_FAKES_HOST").unwrap_or_else(|_| "0.0.0.0".into());
    if let Ok(dir) = std::env::var("XQT_FAKES_TLS_DIR") {
        write_certificate(&PathBuf::from(dir))?;
    }
    let aliyun = FakeAliyun::start_on(&format!("{host}:9101")).await;
    let jpush = FakeJpush::start_on(&format!("{host}:9102")).await;
    jpush.install_any();
    let esign = FakeEsign::start_on(&format!("{host}:9103")).await;
    println!("fake Aliyun SMS on {}, JPush on {}, e签宝 on {}", aliyun.addr, jpush.addr, esign.addr);
    let (mut codes, mut pushes, mut refused) = (0, 0, 0);
    loop {
        let sent = aliyun.sent();
        for s in &sent[codes..] {
            println!("sms to {}: code {}", s.phone, s.code);
        }
        codes = sent.len();
        let pushed = jpush.pushed();
        for p in &pushed[pushes..] {
            println!("push to {:?}: {}", p.registration_ids, p.body["notification"]["android"]["alert"]);
        }
        pushes = pushed.len();
        let refusals: Vec<String> = aliyun.refusals().into_iter().chain(jpush.refusals()).collect();
        for r in refusals.iter().skip(refused) {
            eprintln!("refused: {r}");
        }
        refused = refusals.len();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn write_certificate(dir: &std::path::Path) -> anyhow::Result<()> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if cert.exists() && key.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    let signed = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "xqt".to_owned()])?;
    std::fs::write(&key, signed.key_pair.serialize_pem())?;
    std::fs::write(&cert, signed.cert.pem())?;
    println!("wrote a self-signed certificate for localhost to {}", cert.display());
    Ok(())
}
