//! Interrupted runs converge: `provision` and `destroy` are killed with
//! SIGKILL right after each of their requests in turn (the emulator applies
//! the K-th request, then kills maint before it hears the answer: the worst
//! moment), and a re-run must finish the job with exactly one of each
//! resource, or none after destroy.

use crate::support;

use std::time::Duration;

use support::{Emulator, Project, stderr_of};

/// Environments `probe`, then `k01`... one per kill point, each its own site.
fn config(points: usize) -> String {
    let mut text = String::from("environments:\n");
    for name in std::iter::once("probe".to_string()).chain((1..=points).map(|k| format!("k{k:02}")))
    {
        text.push_str(&format!(
            "  {name}:\n    region: eu-west-1\n    bucket: acme-kill-{name}\n"
        ));
    }
    text
}

/// Runs `maint ARGS`, killed by the emulator right after its `k`-th request;
/// true when it was killed (false: it finished before that many requests).
fn killed_after(emulator: &Emulator, project: &Project, k: usize, args: &[&str]) -> bool {
    let pid_file = project.path("maint.pid");
    let _ = std::fs::remove_file(&pid_file);
    emulator.kill_after(k, &pid_file);
    let mut child = project
        .command(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::fs::write(&pid_file, child.id().to_string()).unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "maint {args:?} hung"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    // Disarm, in case it finished first.
    emulator.kill_after(usize::MAX, &pid_file);
    use std::os::unix::process::ExitStatusExt as _;
    status.signal() == Some(9)
}

/// What the emulator holds for environment `name`: distributions carrying
/// its comment, OACs of its name, and whether its bucket exists.
async fn held(emulator: &Emulator, name: &str) -> (usize, usize, bool) {
    let cf = emulator.cloudfront().await;
    let comment = format!("maint site mode: acme-kill-{name}");
    let dists = cf.list_distributions().send().await.unwrap();
    let dists = dists.distribution_list().map_or(0, |l| {
        l.items().iter().filter(|d| d.comment() == comment).count()
    });
    let oacs = cf.list_origin_access_controls().send().await.unwrap();
    let oac_name = format!("maint-acme-kill-{name}");
    let oacs = oacs.origin_access_control_list().map_or(0, |l| {
        l.items().iter().filter(|o| o.name() == oac_name).count()
    });
    let s3 = emulator.s3("eu-west-1").await;
    let bucket = s3
        .head_bucket()
        .bucket(format!("acme-kill-{name}"))
        .send()
        .await
        .is_ok();
    (dists, oacs, bucket)
}

/// The requests a full run of `args` on `probe` sends.
fn requests_of(emulator: &Emulator, project: &Project, args: &[&str]) -> usize {
    emulator.clear_requests();
    let mut full = vec!["-e", "probe"];
    full.extend_from_slice(args);
    let output = project.maint(&full).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    emulator.requests().len()
}

#[tokio::test]
async fn provision_killed_after_any_request_converges_on_a_rerun() {
    let emulator = Emulator::start();
    let probe = Project::new(&config(0)).against(&emulator);
    let points = requests_of(&emulator, &probe, &["provision"]);
    assert!(points > 10, "{points} requests");
    eprintln!("provision: killed after each of its {points} requests");
    let project = Project::new(&config(points)).against(&emulator);
    for k in 1..=points {
        let env = format!("k{k:02}");
        let killed = killed_after(&emulator, &project, k, &["-e", &env, "provision"]);
        assert!(killed, "provision on {env} was not killed at request {k}");
        let rerun = project.maint(&["-e", &env, "provision"]).output().unwrap();
        assert!(
            rerun.status.success(),
            "killed after request {k}, the re-run failed: {}",
            stderr_of(&rerun)
        );
        assert_eq!(
            held(&emulator, &env).await,
            (1, 1, true),
            "killed after request {k}: one distribution, one OAC, the bucket"
        );
        emulator.clear_requests();
        project.maint(&["-e", &env, "provision"]).assert().success();
        assert_eq!(
            emulator.writes(),
            Vec::<String>::new(),
            "killed after request {k}: converged"
        );
    }
}

#[tokio::test]
async fn destroy_killed_after_any_request_converges_on_a_rerun() {
    let emulator = Emulator::start();
    let probe = Project::new(&config(0)).against(&emulator);
    requests_of(&emulator, &probe, &["provision"]);
    let points = requests_of(&emulator, &probe, &["destroy", "--yes"]);
    assert!(points > 5, "{points} requests");
    eprintln!("destroy: killed after each of its {points} requests");
    let project = Project::new(&config(points)).against(&emulator);
    let all: Vec<String> = (1..=points).map(|k| format!("k{k:02}")).collect();
    for env in &all {
        project.maint(&["-e", env, "provision"]).assert().success();
    }
    for (k, env) in (1..=points).zip(&all) {
        let killed = killed_after(&emulator, &project, k, &["-e", env, "destroy", "--yes"]);
        assert!(killed, "destroy on {env} was not killed at request {k}");
        let rerun = project
            .maint(&["-e", env, "destroy", "--yes"])
            .output()
            .unwrap();
        assert!(
            rerun.status.success(),
            "killed after request {k}, the re-run failed: {}",
            stderr_of(&rerun)
        );
        assert_eq!(
            held(&emulator, env).await,
            (0, 0, false),
            "killed after request {k}: nothing left"
        );
    }
}

/// What the emulator holds for the window on distribution `id`: functions
/// and stores of its name, and the viewer-request associations on each of
/// its cache behaviors.
async fn window_held(emulator: &Emulator, id: &str) -> (usize, usize, Vec<usize>) {
    let cf = emulator.cloudfront().await;
    let name = format!("maint-window-{id}");
    let functions = cf.list_functions().send().await.unwrap();
    let functions = functions
        .function_list()
        .map_or(0, |l| l.items().iter().filter(|f| f.name() == name).count());
    let stores = cf.list_key_value_stores().send().await.unwrap();
    let stores = stores
        .key_value_store_list()
        .map_or(0, |l| l.items().iter().filter(|s| s.name() == name).count());
    let config = cf.get_distribution_config().id(id).send().await.unwrap();
    let config = config.distribution_config().unwrap();
    let count = |fa: Option<&aws_sdk_cloudfront::types::FunctionAssociations>| {
        fa.map_or(0, |f| {
            f.items()
                .iter()
                .filter(|a| a.event_type().as_str() == "viewer-request")
                .count()
        })
    };
    let mut associations = vec![count(
        config
            .default_cache_behavior()
            .unwrap()
            .function_associations(),
    )];
    for b in config
        .cache_behaviors()
        .map(|v| v.items())
        .unwrap_or_default()
    {
        associations.push(count(b.function_associations()));
    }
    (functions, stores, associations)
}

fn window_config(ids: &[(String, String)]) -> String {
    let mut text = String::from("environments:\n");
    for (name, id) in ids {
        text.push_str(&format!(
            "  {name}:\n    region: eu-west-1\n    distribution: {id}\n"
        ));
    }
    text
}

/// A customer distribution per name, and the window config naming them.
async fn windows(emulator: &Emulator, names: &[String]) -> (Project, Vec<String>) {
    let cf = emulator.cloudfront().await;
    let mut pairs = Vec::new();
    for name in names {
        pairs.push((name.clone(), support::customer_distribution(&cf).await));
    }
    let ids = pairs.iter().map(|(_, id)| id.clone()).collect();
    (Project::new(&window_config(&pairs)).against(emulator), ids)
}

#[tokio::test]
async fn attach_and_detach_killed_after_any_request_converge_on_a_rerun() {
    let emulator = Emulator::start();
    let (probe, _) = windows(&emulator, &["probe".to_string()]).await;
    let attach_points = requests_of(&emulator, &probe, &["attach"]);
    let detach_points = requests_of(&emulator, &probe, &["detach"]);
    assert!(
        attach_points > 5 && detach_points > 3,
        "{attach_points} {detach_points}"
    );
    eprintln!("attach: {attach_points} requests, detach: {detach_points}: killed after each");
    let names: Vec<String> = (1..=attach_points.max(detach_points))
        .map(|k| format!("k{k:02}"))
        .collect();
    let (project, ids) = windows(&emulator, &names).await;

    for k in 1..=attach_points {
        let (env, id) = (&names[k - 1], &ids[k - 1]);
        let killed = killed_after(&emulator, &project, k, &["-e", env, "attach"]);
        assert!(killed, "attach on {env} was not killed at request {k}");
        let rerun = project.maint(&["-e", env, "attach"]).output().unwrap();
        assert!(
            rerun.status.success(),
            "attach killed after request {k}, the re-run failed: {}",
            stderr_of(&rerun)
        );
        let (functions, stores, associations) = window_held(&emulator, id).await;
        assert_eq!(
            (functions, stores),
            (1, 1),
            "attach killed after request {k}: one function, one store"
        );
        assert!(
            associations.iter().all(|n| *n == 1),
            "attach killed after request {k}: one association per behavior: {associations:?}"
        );
    }
    // Detach: every environment attached, then killed at each point.
    for (env, _) in names.iter().zip(&ids).skip(attach_points) {
        project.maint(&["-e", env, "attach"]).assert().success();
    }
    for k in 1..=detach_points {
        let (env, id) = (&names[k - 1], &ids[k - 1]);
        let killed = killed_after(&emulator, &project, k, &["-e", env, "detach"]);
        assert!(killed, "detach on {env} was not killed at request {k}");
        let rerun = project.maint(&["-e", env, "detach"]).output().unwrap();
        assert!(
            rerun.status.success(),
            "detach killed after request {k}, the re-run failed: {}",
            stderr_of(&rerun)
        );
        let (functions, stores, associations) = window_held(&emulator, id).await;
        assert_eq!(
            (functions, stores, associations.iter().sum::<usize>()),
            (0, 0, 0),
            "detach killed after request {k}: nothing left"
        );
    }
}
