use super::*;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kestrel-svc-unit-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_watch_fingerprint_sees_edits_and_new_files_in_rules_directories() {
    let dir = temp_dir("watch");
    let cfg_file = dir.join("kestrel.yaml");
    std::fs::write(&cfg_file, "json_output: true\n").unwrap();
    let rules_d = dir.join("rules.d");
    std::fs::create_dir_all(&rules_d).unwrap();
    std::fs::write(rules_d.join("a.yaml"), "[]\n").unwrap();
    let config = Config {
        rules_files: vec![dir.join("main.yaml"), rules_d.clone()],
        ..Config::default()
    };
    let before = fingerprint(Some(&cfg_file), &config);
    assert_eq!(
        before,
        fingerprint(Some(&cfg_file), &config),
        "stable when nothing changes"
    );
    // A new file in the directory.
    std::fs::write(rules_d.join("b.yaml"), "[]\n").unwrap();
    let with_b = fingerprint(Some(&cfg_file), &config);
    assert_ne!(before, with_b);
    // The missing main file appearing.
    std::fs::write(dir.join("main.yaml"), "[]\n").unwrap();
    assert_ne!(with_b, fingerprint(Some(&cfg_file), &config));
    // An edit of the configuration (mtime moved explicitly: filesystems
    // may keep coarse timestamps).
    let now = fingerprint(Some(&cfg_file), &config);
    let f = std::fs::File::options()
        .write(true)
        .open(&cfg_file)
        .unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    assert_ne!(now, fingerprint(Some(&cfg_file), &config));
}

#[test]
fn outputs_restart_only_when_their_settings_change() {
    let a = Config::default();
    let mut b = a.clone();
    b.priority = "warning".into();
    b.rules_files.push("/x.yaml".into());
    assert_eq!(
        outputs_key(&a),
        outputs_key(&b),
        "rules settings keep the outputs"
    );
    b.http_output.url = "http://127.0.0.1:1/".into();
    assert_ne!(outputs_key(&a), outputs_key(&b));
    let mut c = a.clone();
    c.json_output = true;
    assert_ne!(outputs_key(&a), outputs_key(&c));
}

#[test]
fn failures_map_to_exit_statuses() {
    let dev = Failure::from(DeviceError::NotLoaded("/dev/kestrel".into()));
    assert_eq!(dev.code, EXIT_DEVICE);
    assert!(dev.message.contains("insmod"), "{}", dev.message);
    let abi = Failure::from(DeviceError::AbiMismatch {
        module: 3,
        consumer: 4,
    });
    assert_eq!(abi.code, EXIT_DEVICE);
    assert!(abi.message.contains("version 3") && abi.message.contains("version 4"));
    let cfg = Failure::from(ConfigError {
        origin: "k.yaml".into(),
        line: Some(3),
        key: "a.b".into(),
        message: "bad".into(),
    });
    assert_eq!(cfg.code, EXIT_CONFIG);
    assert_eq!(cfg.message, "bad configuration: k.yaml:3: a.b: bad");
    assert_eq!(
        Failure::from(ruleset::RulesError("x".into())).code,
        EXIT_RULES
    );
    assert_eq!(Failure::from(String::from("y")).code, EXIT_FAILURE);
}
