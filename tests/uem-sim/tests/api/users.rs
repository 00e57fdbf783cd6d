//! Enrollment users: search by user name and e-mail with paging, user names that are not the HR
//! id (seeded from `uem-users.csv` or added at runtime), v1 and v2 create, v2 read, delete.

use crate::fixture::sim;
use crate::raw::{Raw, assert_empty, create_group, error_of, json_of, user_id};
use serde_json::json;
use uem_sim::{DeviceSeed, SimConfig, Tenant, UemSim, UserSeed};

#[tokio::test]
async fn search_by_user_name_or_email_partial_and_paged() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let by_email = json_of(
        raw.get("/api/system/users/search?email=alice.jones@example.com")
            .await,
        200,
    )
    .await;
    assert_eq!(by_email["Total"], 1);
    assert_eq!(by_email["Users"][0]["UserName"], "alice2");
    let partial = json_of(raw.get("/api/system/users/search?email=ALICE.").await, 200).await;
    assert_eq!(partial["Total"], 2, "e-mail search is a contains match too");
    assert_empty(raw.get("/api/system/users/search?email=zed@").await, 204).await;

    let mut seen = Vec::new();
    for page in 0..2 {
        let body = json_of(
            raw.get(&format!("/api/system/users/search?page={page}&pagesize=3"))
                .await,
            200,
        )
        .await;
        assert_eq!(
            (body["Total"].as_i64(), body["Page"].as_i64()),
            (Some(4), Some(page))
        );
        for u in body["Users"].as_array().unwrap() {
            seen.push(u["UserName"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen, ["alice", "alice2", "bob", "carol"]);
    assert_empty(
        raw.get("/api/system/users/search?page=2&pagesize=3").await,
        204,
    )
    .await;
}

#[tokio::test]
async fn user_names_that_are_not_the_hr_id_come_from_uem_users_csv() {
    let dir = std::env::temp_dir().join(format!("uem-sim-users-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("org.csv"),
        "user_id,email\ne1001,jane.doe@hr.example\ne1002,kai.li@hr.example\ne1003,mo@hr.example\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("devices.csv"),
        "device_id,user_id,platform\nD1,e1001,iOS\nD2,e1002,Android\nD3,e1003,macOS\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("uem-users.csv"),
        "user_id,username,email\ne1001,Jane.Doe@corp.example,jane.doe@corp.example\ne1002,kli,\nsvc1,svc-kiosk,kiosk@corp.example\n",
    )
    .unwrap();
    let tenant = Tenant::from_dir(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let jane = tenant.users.iter().find(|u| u.key == "e1001").unwrap();
    assert_eq!(jane.username, "Jane.Doe@corp.example");
    let kai = tenant.users.iter().find(|u| u.key == "e1002").unwrap();
    assert_eq!(
        (kai.username.as_str(), kai.email.as_str()),
        ("kli", "kai.li@hr.example")
    );
    let mo = tenant.users.iter().find(|u| u.key == "e1003").unwrap();
    assert_eq!(
        mo.username, "e1003",
        "without a mapping the HR id is the user name"
    );
    assert!(tenant.users.iter().any(|u| u.username == "svc-kiosk"));

    let sim = UemSim::start(SimConfig::new(tenant).requests_per_minute(0))
        .await
        .unwrap();
    let raw = Raw::new(&sim);
    let d = json_of(
        raw.get("/api/mdm/devices?searchby=Serialnumber&id=D1")
            .await,
        200,
    )
    .await;
    assert_eq!(d["UserName"], "Jane.Doe@corp.example");
    assert_eq!(d["UserEmailAddress"], "jane.doe@corp.example");
    let found = json_of(
        raw.get("/api/system/users/search?username=jane.doe").await,
        200,
    )
    .await;
    assert_eq!(found["Users"][0]["UserName"], "Jane.Doe@corp.example");
    assert_empty(
        raw.get("/api/system/users/search?username=e1001").await,
        204,
    )
    .await;
    // Tests name people by HR id all the same.
    let id = user_id(&raw, "Jane.Doe@corp.example").await;
    create_group(&raw, "g", &[id]).await;
    assert!(sim.with_state(|s| s.resolve_user("e1001").map(|u| u.id)) == Some(id));
    sim.shutdown().await;
}

#[tokio::test]
async fn users_added_at_runtime_are_found_and_can_enroll() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    assert_empty(raw.get("/api/system/users/search?username=dora").await, 204).await;
    let dora = sim
        .add_user_seed(UserSeed::new("DOra.Explorer", "dora@corp.example").key("e2001"))
        .unwrap();
    let found = json_of(raw.get("/api/system/users/search?username=dora").await, 200).await;
    assert_eq!(found["Users"][0]["UserName"], "DOra.Explorer");
    assert_eq!(found["Users"][0]["Id"]["Value"], dora.id);
    assert!(
        sim.add_user("dora.explorer", "x@corp.example").is_err(),
        "names are unique"
    );
    sim.enroll_device(DeviceSeed::new("DORA-1", "e2001", "iOS"))
        .unwrap();
    let devices = json_of(
        raw.get("/api/mdm/devices/search?user=dora.explorer").await,
        200,
    )
    .await;
    assert_eq!(devices["Devices"][0]["SerialNumber"], "DORA-1");
    assert_eq!(devices["Devices"][0]["EnrollmentStatus"], "Enrolled");

    let inactive = sim
        .add_user_seed(UserSeed::new("gone", "gone@corp.example").active(false))
        .unwrap();
    let body = json_of(
        raw.get("/api/system/users/search?status=Inactive").await,
        200,
    )
    .await;
    assert_eq!(body["Users"][0]["Id"]["Value"], inactive.id);
    assert_eq!(body["Users"][0]["Status"], false);
    assert!(
        sim.enroll_device(DeviceSeed::new("GONE-1", "gone", "iOS"))
            .is_err()
    );
}

#[tokio::test]
async fn create_read_and_delete_through_the_api() {
    let sim = sim().await;
    let raw = Raw::new(&sim);
    let v1 = json_of(
        raw.post(
            "/api/system/users/adduser",
            json!({"UserName": "v1user", "Email": "v1@corp.example", "SecurityType": "Basic"}),
        )
        .await,
        201,
    )
    .await;
    let v1_id = v1["Value"].as_i64().unwrap();
    let read = json_of(raw.get(&format!("/api/system/users/{v1_id}")).await, 200).await;
    assert_eq!(read["Email"], "v1@corp.example");

    let missing_type = raw
        .send_json(
            reqwest::Method::POST,
            "/api/system/users",
            2,
            json!({"userName": "v2user"}),
        )
        .await;
    error_of(missing_type, 400).await;
    let created = json_of(
        raw.send_json(
            reqwest::Method::POST,
            "/api/system/users",
            2,
            json!({"userName": "v2user", "emailAddress": "v2@corp.example", "securityType": "directory", "firstName": "Vee", "lastName": "Two"}),
        )
        .await,
        201,
    )
    .await;
    let uuid = created["uuid"].as_str().unwrap().to_owned();
    let v2 = json_of(
        raw.get_v(&format!("/api/system/users/{uuid}"), 2).await,
        200,
    )
    .await;
    assert_eq!(v2["userName"], "v2user");
    assert_eq!(v2["firstName"], "Vee");
    assert_eq!(v2["emailAddress"], "v2@corp.example");
    error_of(
        raw.post("/api/system/users/adduser", json!({"UserName": "V2USER"}))
            .await,
        400,
    )
    .await;

    let id = user_id(&raw, "v2user").await;
    create_group(&raw, "g", &[id, v1_id]).await;
    let delete = raw
        .req(
            reqwest::Method::DELETE,
            &format!("/api/system/users/{uuid}"),
            2,
        )
        .send()
        .await
        .unwrap();
    assert_empty(delete, 204).await;
    error_of(
        raw.get_v(&format!("/api/system/users/{uuid}"), 2).await,
        404,
    )
    .await;
    assert_eq!(
        sim.smart_group_members("g").unwrap(),
        ["v1user"],
        "a deleted user leaves the groups"
    );
    assert_empty(
        raw.delete(&format!("/api/system/users/{v1_id}/delete"))
            .await,
        204,
    )
    .await;
}
