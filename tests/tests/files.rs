//! Uploads: a purpose, size and type limits, metadata stripped before storage, downloads only
//! for those allowed; and the profile they feed (avatar).

use std::io::Cursor;

use serde_json::json;
use xqt_tests::{Person, TestServer, on_each_backend, random_phone};

fn jpeg_with_exif(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, 90]));
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&img).unwrap();
    let plain = out.into_inner();
    // APP1 "Exif" with a camera make and GPS position, as phones write them.
    let payload = b"Exif\0\0II*\0Make=HUAWEI Model=Mate70 GPSLatitude=39.9042N GPSLongitude=116.4074E";
    let mut dirty = plain[..2].to_vec();
    dirty.extend([0xFF, 0xE1]);
    dirty.extend(((payload.len() + 2) as u16).to_be_bytes());
    dirty.extend(payload);
    dirty.extend(&plain[2..]);
    dirty
}

fn png_with_text(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(w, h, image::Rgba([10, 200, 10, 255]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    let plain = out.into_inner();
    // A tEXt chunk and an eXIf chunk before IEND.
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend(kind);
        c.extend(data);
        c.extend(crc32(&[kind, data].concat()).to_be_bytes());
        c
    };
    let text = chunk(b"tEXt", b"Comment\0GPS 39.9042N 116.4074E iPhone");
    let iend = plain.len() - 12;
    let mut dirty = plain[..iend].to_vec();
    dirty.extend(text);
    dirty.extend(&plain[iend..]);
    dirty
}

/// CRC-32 as PNG chunks use it (polynomial 0xEDB88320).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

async fn upload(srv: &TestServer, who: Option<&Person>, query: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    let mut req =
        srv.http.post(srv.url(&format!("/files{query}"))).header("content-type", "application/octet-stream").body(body);
    if let Some(p) = who {
        req = req.bearer_auth(&p.token);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

async fn download(srv: &TestServer, who: &Person, url: &str) -> (u16, Vec<u8>) {
    let resp = srv.http.get(srv.url(url)).bearer_auth(&who.token).send().await.unwrap();
    (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn col_5_uploads_carry_a_purpose_and_image_metadata_is_stripped_before_storage() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let person = srv.person().await;

        let dirty = jpeg_with_exif(64, 48);
        assert!(contains(&dirty, b"GPSLatitude") && contains(&dirty, b"HUAWEI"));
        let (status, body) = upload(&srv, Some(&person), "", dirty.clone()).await;
        assert_eq!(
            (status, body["errors"][0]["extensions"]["field"].as_str()),
            (400, Some("purpose")),
            "no purpose, no upload"
        );
        let (status, body) = upload(&srv, Some(&person), "?purpose=selfie", dirty.clone()).await;
        assert_eq!((status, body["errors"][0]["extensions"]["code"].as_str()), (400, Some("BAD_USER_INPUT")));
        let known = body["errors"][0]["message"].as_str().unwrap();
        assert!(known.contains("avatar") && known.contains("chat_file"), "every module's purposes are named: {known}");

        let (status, body) = upload(&srv, Some(&person), "?purpose=avatar", dirty).await;
        assert_eq!(status, 201, "{body:?}");
        assert_eq!((body["purpose"].as_str(), body["contentType"].as_str()), (Some("avatar"), Some("image/jpeg")));
        let (status, stored) = download(&srv, &person, body["url"].as_str().unwrap()).await;
        assert_eq!(status, 200);
        for marker in [&b"Exif"[..], b"GPS", b"HUAWEI", b"Mate70"] {
            assert!(!contains(&stored, marker), "{} survived", String::from_utf8_lossy(marker));
        }
        let back = image::load_from_memory(&stored).unwrap();
        assert_eq!((back.width(), back.height()), (64, 48), "the picture itself is kept");

        // Also on disk: what the store holds is the cleaned image.
        let rows = xqt_accounts::uploads::all_for(&srv.ctx, person.id).await.unwrap();
        let on_disk = srv.ctx.files.get(&rows[0].storage_key).await.unwrap();
        assert!(!contains(&on_disk, b"GPS"));

        let (status, body) = upload(&srv, Some(&person), "?purpose=avatar", png_with_text(20, 20)).await;
        assert_eq!((status, body["contentType"].as_str()), (201, Some("image/png")), "{body:?}");
        let (_, stored) = download(&srv, &person, body["url"].as_str().unwrap()).await;
        assert!(!contains(&stored, b"tEXt") && !contains(&stored, b"GPS") && !contains(&stored, b"iPhone"));
    })
    .await;
}

/// What the sample files carry: a position, a phone, an author, the recording software.
const MARKERS: [&str; 6] = ["39.9042", "HUAWEI", "Mate 70", "iPhone", "张三", "Lavf"];

#[tokio::test]
async fn col_5_video_voice_and_documents_lose_position_device_and_author_before_storage() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (alice, bob) = (srv.verified_person().await, srv.verified_person().await);
        let open = "mutation($u: ID!) { openDirectConversation(userId: $u) { id } }";
        let c = srv.ok(open, json!({ "u": bob.id }), Some(&alice.token)).await["openDirectConversation"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let samples = [
            ("video", "android.mp4", "video/mp4"),
            ("video", "iphone.mov", "video/quicktime"),
            ("voice", "voice.mp3", "audio/mpeg"),
            ("voice", "voice.m4a", "audio/mp4"),
            ("voice", "voice.opus.ogg", "audio/ogg"),
            ("voice", "voice.vorbis.ogg", "audio/ogg"),
            ("voice", "voice.wav", "audio/wav"),
            ("file", "report.pdf", "application/pdf"),
            ("file", "report.docx", "application/zip"),
            ("file", "hours.xlsx", "application/zip"),
        ];
        for (kind, name, content_type) in samples {
            let raw = xqt_tests::fixture(name);
            let carried: Vec<&str> = MARKERS.into_iter().filter(|m| contains(&raw, m.as_bytes())).collect();
            assert!(!carried.is_empty() || name.ends_with("x"), "{name} carries metadata to remove");
            let (status, body) =
                upload(&srv, Some(&alice), &format!("?purpose=chat_{kind}&conversation={c}&name={name}"), raw.clone())
                    .await;
            assert_eq!((status, body["contentType"].as_str()), (201, Some(content_type)), "{name}: {body:?}");
            let (status, stored) = download(&srv, &bob, body["url"].as_str().unwrap()).await;
            assert_eq!(status, 200, "{name}");
            for m in MARKERS {
                assert!(!contains(&stored, m.as_bytes()), "{name}: {m} survived");
            }
            if kind == "video" {
                for atom in [b"udta", b"meta"] {
                    assert_eq!(xqt_kernel::scrub::boxes_named(&stored, atom), Ok(0), "{name}: a {atom:?} box survived");
                }
                assert_eq!(stored.len(), raw.len(), "{name}: blanked in place, the media where it was");
            }
            if name.ends_with("x") {
                let mut zip = zip::ZipArchive::new(Cursor::new(&stored)).expect("still an Office file");
                let mut core = String::new();
                std::io::Read::read_to_string(&mut zip.by_name("docProps/core.xml").unwrap(), &mut core).unwrap();
                assert!(!core.contains("creator") && !core.contains("lastModifiedBy"), "{name}: {core}");
            }
        }
        // An Office document inside carries the author too: the sample's docx and xlsx do.
        assert!(contains(&zip_part(&xqt_tests::fixture("report.docx"), "docProps/core.xml"), "张三".as_bytes()));
        assert!(contains(&zip_part(&xqt_tests::fixture("hours.xlsx"), "docProps/core.xml"), "张三".as_bytes()));

        // What cannot be cleaned is refused, with its reason, and nothing is stored.
        let attachments = async || {
            use sea_orm::{EntityTrait, PaginatorTrait};
            xqt_chat::entity::attachment::Entity::find().count(&srv.ctx.db).await.unwrap()
        };
        let stored_before = attachments().await;
        let ole = [&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1][..], &[0; 504]].concat();
        let mut cut = xqt_tests::fixture("android.mp4");
        cut.truncate(cut.len() / 2);
        for (kind, bytes, what) in [("file", ole, "a legacy .doc"), ("video", cut, "a video cut short")] {
            let (status, body) =
                upload(&srv, Some(&alice), &format!("?purpose=chat_{kind}&conversation={c}"), bytes).await;
            let e = &body["errors"][0]["extensions"];
            assert_eq!(
                (status, e["code"].as_str(), e["field"].as_str(), e["reason"].as_str()),
                (400, Some("BAD_USER_INPUT"), Some("file"), Some("METADATA_NOT_REMOVABLE")),
                "{what}: {body:?}"
            );
        }
        assert_eq!(attachments().await, stored_before, "nothing stored from refused uploads");
    })
    .await;
}

fn zip_part(raw: &[u8], part: &str) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(Cursor::new(raw)).unwrap();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_name(part).unwrap(), &mut out).unwrap();
    out
}

#[tokio::test]
async fn uploads_are_refused_clearly_and_read_only_by_those_allowed() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, stranger, admin) = (srv.person().await, srv.person().await, srv.admin().await);
        let (status, body) = upload(&srv, None, "?purpose=avatar", jpeg_with_exif(8, 8)).await;
        assert_eq!((status, body["errors"][0]["extensions"]["code"].as_str()), (401, Some("UNAUTHENTICATED")));
        let (status, body) =
            upload(&srv, Some(&owner), "?purpose=avatar", b"%PDF-1.7 this is not an image".to_vec()).await;
        assert_eq!((status, body["errors"][0]["extensions"]["field"].as_str()), (400, Some("file")));
        let (status, body) = upload(&srv, Some(&owner), "?purpose=avatar", vec![0xFF; 2 * 1024 * 1024 + 1]).await;
        assert_eq!((status, body["errors"][0]["extensions"]["code"].as_str()), (413, Some("PAYLOAD_TOO_LARGE")));
        assert!(
            xqt_accounts::uploads::all_for(&srv.ctx, owner.id).await.unwrap().is_empty(),
            "nothing stored from refused uploads"
        );

        let (_, body) = upload(&srv, Some(&owner), "?purpose=avatar", jpeg_with_exif(8, 8)).await;
        let url = body["url"].as_str().unwrap();
        assert_eq!(download(&srv, &stranger, url).await.0, 404, "others cannot fetch it (or learn it exists)");
        assert_eq!(download(&srv, &admin, url).await.0, 200);
        assert_eq!(download(&srv, &owner, "/files/not-an-id").await.0, 404);

        // Someone else's upload cannot become your avatar.
        let set = "mutation($f: ID) { updateProfile(input: { avatarFileId: $f }) { avatarUrl } }";
        let a = srv.gql(set, json!({ "f": body["id"] }), Some(&stranger.token)).await;
        assert_eq!(a.code(), Some("NOT_FOUND"));
    })
    .await;
}

#[tokio::test]
async fn col_8_every_profile_field_is_the_persons_to_edit_and_none_is_required() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let person = srv.person().await;
        let fields = "avatarUrl nickname username gender birthDate phone hasPassword";
        let me = srv.gql(&format!("{{ me {{ {fields} }} }}"), json!({}), Some(&person.token)).await;
        assert_eq!(
            me.body["data"]["me"],
            json!({ "avatarUrl": null, "nickname": null, "username": null, "gender": null, "birthDate": null, "phone": person.phone, "hasPassword": false }),
            "a phone is all an account needs"
        );

        let (_, file) = upload(&srv, Some(&person), "?purpose=avatar", jpeg_with_exif(16, 16)).await;
        let update = format!("mutation($i: UpdateProfileInput!) {{ updateProfile(input: $i) {{ {fields} }} }}");
        let a = srv
            .gql(&update, json!({ "i": { "avatarFileId": file["id"], "nickname": "小明", "username": "xiaoming", "gender": "FEMALE", "birthDate": "2003-09-01" } }), Some(&person.token))
            .await;
        let me = &a.body["data"]["updateProfile"];
        assert_eq!(me["avatarUrl"], file["url"]);
        assert_eq!((me["nickname"].as_str(), me["username"].as_str(), me["gender"].as_str(), me["birthDate"].as_str()), (Some("小明"), Some("xiaoming"), Some("FEMALE"), Some("2003-09-01")));

        // Password and phone are the person's to change too.
        let a = srv.gql("mutation { setPassword(newPassword: \"Xq7!tong-2026\") }", json!({}), Some(&person.token)).await;
        assert_eq!(a.body["data"]["setPassword"], true);
        let new_phone = random_phone();
        srv.ok("mutation($p: String!) { requestSignInCode(phone: $p) }", json!({ "p": new_phone }), None).await;
        let code = srv.sms_code(&new_phone).await;
        let a = srv.gql("mutation($p: String!, $c: String!) { changePhone(newPhone: $p, code: $c) { phone } }", json!({ "p": new_phone, "c": code }), Some(&person.token)).await;
        assert_eq!(a.body["data"]["changePhone"]["phone"], new_phone.as_str());
        let again = srv.sign_in(&new_phone).await;
        assert_eq!(again.id, person.id, "the account moved to the new number");

        // Everything can be cleared again, too.
        let a = srv.gql(&update, json!({ "i": { "avatarFileId": null, "nickname": null, "username": null, "gender": null, "birthDate": null } }), Some(&again.token)).await;
        let me = &a.body["data"]["updateProfile"];
        assert_eq!((me["avatarUrl"].clone(), me["nickname"].clone(), me["gender"].clone()), (json!(null), json!(null), json!(null)));

        let taken = srv.person().await;
        srv.ok("mutation($p: String!) { requestSignInCode(phone: $p) }", json!({ "p": taken.phone }), None).await;
        let code = srv.sms_code(&taken.phone).await;
        let a = srv.gql("mutation($p: String!, $c: String!) { changePhone(newPhone: $p, code: $c) { phone } }", json!({ "p": taken.phone, "c": code }), Some(&again.token)).await;
        assert_eq!(a.code(), Some("CONFLICT"), "a number that has an account");
    })
    .await;
}

/// A chat list and a conversation show who is who without extra round trips: a direct
/// conversation's `peer`, each message's `sender` and each member's `person`, with the name and
/// avatar the viewer may see; the avatar downloads for exactly those who share a conversation or
/// an organisation with its owner.
#[tokio::test]
async fn people_on_screen_peers_senders_and_avatars_for_those_who_see_the_profile() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (alice, bob, carol) = (srv.verified_person().await, srv.verified_person().await, srv.verified_person().await);
        let (_, file) = upload(&srv, Some(&alice), "?purpose=avatar", jpeg_with_exif(16, 16)).await;
        srv.ok(
            "mutation($f: ID) { updateProfile(input: { avatarFileId: $f, nickname: \"爱丽丝\" }) { id } }",
            json!({ "f": file["id"] }),
            Some(&alice.token),
        )
        .await;
        let avatar = file["url"].as_str().unwrap().to_owned();
        assert_eq!(download(&srv, &bob, &avatar).await.0, 404, "strangers do not see it yet");

        let open = "mutation($u: ID!) { openDirectConversation(userId: $u) { id } }";
        let c = srv.ok(open, json!({ "u": bob.id }), Some(&alice.token)).await["openDirectConversation"]["id"].clone();
        let send = "mutation($i: SendMessageInput!) { sendMessage(input: $i) { seq } }";
        srv.ok(send, json!({ "i": { "conversationId": c, "clientMessageId": "m1", "kind": "TEXT", "text": "你好" } }), Some(&alice.token)).await;

        // Bob's chat list screen: one request, within the default limits.
        let list = "{ conversations(first: 20) { nodes { id kind unreadCount peer { id displayName avatarUrl } lastMessage { text sender { displayName avatarUrl } } members(first: 3) { person { displayName } } } } }";
        let a = srv.ok(list, json!({}), Some(&bob.token)).await;
        let row = &a["conversations"]["nodes"][0];
        assert_eq!(row["peer"], json!({ "id": alice.id, "displayName": "爱丽丝", "avatarUrl": avatar }), "{a}");
        assert_eq!(row["lastMessage"]["sender"], json!({ "displayName": "爱丽丝", "avatarUrl": avatar }));
        assert_eq!(row["unreadCount"], 1);
        let names: Vec<&str> = row["members"].as_array().unwrap().iter().map(|m| m["person"]["displayName"].as_str().unwrap()).collect();
        assert_eq!(names, ["爱丽丝", "用户"], "no nickname shows as 用户");
        // Every member of every conversation, unbounded, is weighed as the worst case.
        let all = srv.gql("{ conversations(first: 20) { nodes { members { userId } } } }", json!({}), Some(&bob.token)).await;
        assert_eq!(all.code(), Some("QUERY_TOO_COMPLEX"), "members(first: n) is how a list asks");
        // Alice sees Bob as her peer; a group has none.
        let a = srv.ok("{ conversations(first: 20) { nodes { peer { id displayName avatarUrl } } } }", json!({}), Some(&alice.token)).await;
        assert_eq!(a["conversations"]["nodes"][0]["peer"], json!({ "id": bob.id, "displayName": "用户", "avatarUrl": null }));

        // Sharing the conversation, Bob may now fetch the avatar; Carol may not.
        let (status, bytes) = download(&srv, &bob, &avatar).await;
        assert_eq!((status, &bytes[..2]), (200, &[0xFF, 0xD8][..]), "the JPEG");
        assert_eq!(download(&srv, &carol, &avatar).await.0, 404);
        // Until she joins an organisation Alice is in.
        let admin = srv.admin().await;
        let org = xqt_tests::cooperation::approved(&srv, &admin, &alice, "ENTERPRISE", "杭州精工数控机床有限公司", xqt_tests::cooperation::HANGZHOU).await;
        xqt_tests::cooperation::join(&srv, &alice, &org, &carol, "MEMBER").await;
        assert_eq!(download(&srv, &carol, &avatar).await.0, 200);
        let members = srv.ok("query($o: ID!) { organization(id: $o) { members { person { displayName avatarUrl } } } }", json!({ "o": org }), Some(&carol.token)).await;
        assert!(members["organization"]["members"].as_array().unwrap().contains(&json!({ "person": { "displayName": "爱丽丝", "avatarUrl": avatar } })), "{members}");

        // A signed link for `<img src>`: no header, issued to whoever sees the avatar.
        let a = srv.ok("{ conversations(first: 20) { nodes { peer { avatarSignedUrl } } } }", json!({}), Some(&bob.token)).await;
        let signed = srv.url(a["conversations"]["nodes"][0]["peer"]["avatarSignedUrl"].as_str().expect("a signed link"));
        let got = srv.http.get(&signed).send().await.unwrap();
        assert_eq!(got.status().as_u16(), 200);
        assert_eq!(&got.bytes().await.unwrap()[..2], &[0xFF, 0xD8]);
        let a = srv.ok("{ me { avatarSignedUrl } }", json!({}), Some(&alice.token)).await;
        assert_eq!(srv.http.get(srv.url(a["me"]["avatarSignedUrl"].as_str().unwrap())).send().await.unwrap().status().as_u16(), 200);
        let forged = signed.replace(&bob.id.to_string(), &carol.id.to_string());
        assert_eq!(srv.http.get(&forged).send().await.unwrap().status().as_u16(), 404, "the link names its viewer, under the signature");

        // Only the current avatar: a replaced one is the owner's alone again.
        let (_, newer) = upload(&srv, Some(&alice), "?purpose=avatar", jpeg_with_exif(12, 12)).await;
        srv.ok("mutation($f: ID) { updateProfile(input: { avatarFileId: $f }) { id } }", json!({ "f": newer["id"] }), Some(&alice.token)).await;
        assert_eq!(download(&srv, &bob, &avatar).await.0, 404);
        assert_eq!(download(&srv, &bob, newer["url"].as_str().unwrap()).await.0, 200);
        assert_eq!(srv.http.get(&signed).send().await.unwrap().status().as_u16(), 404, "checked again when fetched");
        // And a link stops working after its hour or two.
        let a = srv.ok("{ conversations(first: 20) { nodes { peer { avatarSignedUrl } } } }", json!({}), Some(&bob.token)).await;
        let fresh = srv.url(a["conversations"]["nodes"][0]["peer"]["avatarSignedUrl"].as_str().unwrap());
        assert_eq!(srv.http.get(&fresh).send().await.unwrap().status().as_u16(), 200);
        b.clock.advance(chrono::Duration::hours(2));
        let late = TestServer::answer(srv.http.get(&fresh).send().await.unwrap()).await;
        assert_eq!((late.status, late.body["errors"][0]["extensions"]["reason"].as_str()), (403, Some("LINK_EXPIRED")));
    })
    .await;
}

fn multipart(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file_name, bytes) in parts {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes());
        if let Some(f) = file_name {
            body.extend(format!("; filename=\"{f}\"\r\nContent-Type: application/octet-stream").as_bytes());
        }
        body.extend(b"\r\n\r\n");
        body.extend(*bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    body
}

/// What uni-app's and mini-programs' `uploadFile` send (multipart/form-data, the file in a part
/// named `file`, other form fields beside it), stored like a raw upload; downloads answer
/// `ETag`/`If-None-Match` and `Range` as image caches and video players ask.
#[tokio::test]
async fn multipart_uploads_and_downloads_with_etag_and_range() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let person = srv.person().await;
        let post = async |body: Vec<u8>, boundary: &str| {
            let resp = srv
                .http
                .post(srv.url("/files?purpose=avatar"))
                .bearer_auth(&person.token)
                .header("content-type", format!("multipart/form-data; boundary={boundary}"))
                .body(body)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.json::<serde_json::Value>().await.unwrap_or_default())
        };
        let photo = jpeg_with_exif(32, 32);
        let body = multipart(
            "----uniapp7MA4YWxkTrZu0gW",
            &[("user", None, b"13800000005"), ("file", Some("IMG_0001.jpg"), &photo)],
        );
        let (status, file) = post(body, "----uniapp7MA4YWxkTrZu0gW").await;
        assert_eq!(status, 201, "{file}");
        let (status, bytes) = download(&srv, &person, file["url"].as_str().unwrap()).await;
        assert_eq!((status, &bytes[..2]), (200, &[0xFF, 0xD8][..]));
        assert!(!bytes.windows(6).any(|w| w == b"HUAWEI"), "cleaned like a raw upload");

        let (status, body) = post(multipart("b1", &[("note", None, b"no file here")]), "b1").await;
        assert_eq!((status, body["errors"][0]["extensions"]["field"].as_str()), (400, Some("file")), "{body}");
        let (status, body) = post(b"--b2\r\nnot a multipart body".to_vec(), "b2").await;
        assert_eq!((status, body["errors"][0]["extensions"]["field"].as_str()), (400, Some("file")), "{body}");
        let big = vec![0xFFu8; 2 * 1024 * 1024 + 1];
        let (status, body) = post(multipart("b3", &[("file", Some("big.jpg"), &big)]), "b3").await;
        assert_eq!(
            (status, body["errors"][0]["extensions"]["code"].as_str()),
            (413, Some("PAYLOAD_TOO_LARGE")),
            "{body}"
        );

        // Conditional and partial downloads.
        let url = srv.url(file["url"].as_str().unwrap());
        let full = srv.http.get(&url).bearer_auth(&person.token).send().await.unwrap();
        let etag = full.headers()["etag"].to_str().unwrap().to_owned();
        assert_eq!(full.headers()["accept-ranges"], "bytes");
        let total = bytes.len();
        let again = srv.http.get(&url).bearer_auth(&person.token).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status().as_u16(), 304);
        assert!(again.bytes().await.unwrap().is_empty());
        let part = srv.http.get(&url).bearer_auth(&person.token).header("range", "bytes=0-9").send().await.unwrap();
        assert_eq!(part.status().as_u16(), 206);
        assert_eq!(part.headers()["content-range"].to_str().unwrap(), format!("bytes 0-9/{total}"));
        assert_eq!(&part.bytes().await.unwrap()[..], &bytes[..10]);
        let tail = srv.http.get(&url).bearer_auth(&person.token).header("range", "bytes=-4").send().await.unwrap();
        assert_eq!(&tail.bytes().await.unwrap()[..], &bytes[total - 4..]);
        let past = srv
            .http
            .get(&url)
            .bearer_auth(&person.token)
            .header("range", format!("bytes={total}-"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            (past.status().as_u16(), past.headers()["content-range"].to_str().unwrap()),
            (416, format!("bytes */{total}").as_str())
        );
    })
    .await;
}

/// Thumbnails for lists: `?w=` on a download or a signed media link answers the image scaled to
/// fit that width, proportions kept, for exactly those who may fetch the original.
#[tokio::test]
async fn a_thumbnail_is_the_image_scaled_to_a_listed_width_for_those_who_see_it() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (alice, bob) = (srv.verified_person().await, srv.verified_person().await);
        let (status, file) = upload(&srv, Some(&alice), "?purpose=avatar", jpeg_with_exif(640, 480)).await;
        assert_eq!(status, 201, "{file}");
        srv.ok(
            "mutation($f: ID) { updateProfile(input: { avatarFileId: $f }) { id } }",
            json!({ "f": file["id"] }),
            Some(&alice.token),
        )
        .await;
        let url = file["url"].as_str().unwrap().to_owned();

        let resp = srv.http.get(srv.url(&format!("{url}?w=128"))).bearer_auth(&alice.token).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(resp.headers()["content-type"], "image/jpeg");
        let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
        assert!(etag.ends_with("-w128\""), "its own entity tag: {etag}");
        let small = image::load_from_memory(&resp.bytes().await.unwrap()).unwrap();
        assert_eq!((small.width(), small.height()), (128, 96));
        let again = srv
            .http
            .get(srv.url(&format!("{url}?w=128")))
            .bearer_auth(&alice.token)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status().as_u16(), 304);
        let full = srv.http.get(srv.url(&url)).bearer_auth(&alice.token).send().await.unwrap();
        assert_eq!(
            image::load_from_memory(&full.bytes().await.unwrap()).unwrap().width(),
            640,
            "without w, the original"
        );

        let odd = TestServer::answer(
            srv.http.get(srv.url(&format!("{url}?w=100"))).bearer_auth(&alice.token).send().await.unwrap(),
        )
        .await;
        assert_eq!(
            (odd.status, odd.code(), odd.body["errors"][0]["extensions"]["field"].as_str()),
            (400, Some("BAD_USER_INPUT"), Some("w"))
        );
        assert!(odd.body["errors"][0]["message"].as_str().unwrap().contains("128"), "names the widths: {:?}", odd.body);
        assert_eq!(download(&srv, &bob, &format!("{url}?w=128")).await.0, 404, "a stranger gets no thumbnail either");

        // Through the signed link an <img> uses, with the width appended.
        let open = "mutation($u: ID!) { openDirectConversation(userId: $u) { id } }";
        let c = srv.ok(open, json!({ "u": bob.id }), Some(&alice.token)).await["openDirectConversation"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let a = srv
            .ok("{ conversations(first: 20) { nodes { peer { avatarSignedUrl } } } }", json!({}), Some(&bob.token))
            .await;
        let signed = srv.url(a["conversations"]["nodes"][0]["peer"]["avatarSignedUrl"].as_str().unwrap());
        let thumb = srv.http.get(format!("{signed}&w=64")).send().await.unwrap();
        assert_eq!(thumb.status().as_u16(), 200);
        let tiny = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
        assert_eq!((tiny.width(), tiny.height()), (64, 48));

        // Not an image: a clear refusal, not a broken picture.
        let pdf = srv
            .http
            .post(srv.url(&format!("/files?purpose=chat_file&conversation={c}&name=a.pdf")))
            .bearer_auth(&alice.token)
            .body(xqt_tests::fixture("report.pdf"))
            .send()
            .await
            .unwrap();
        assert_eq!(pdf.status().as_u16(), 201);
        let pdf: serde_json::Value = pdf.json().await.unwrap();
        let thumb = srv.http.get(srv.url(&format!("{}?w=128", pdf["url"].as_str().unwrap()))).bearer_auth(&alice.token);
        let a = TestServer::answer(thumb.send().await.unwrap()).await;
        assert_eq!((a.status, a.code()), (400, Some("BAD_USER_INPUT")), "{:?}", a.body);
    })
    .await;
}
