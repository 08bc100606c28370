//! Tests of the scheduler files in `deploy/`. No cluster is at hand, so the Kubernetes Jobs are
//! checked field by field and then played out locally: each pod's arguments, with the volume
//! paths mapped to folders here, run the real binary with the index the Job controller would
//! set. The Slurm scripts run as Slurm would run them, with the array variables set, and
//! `submit.sh` against a stand-in `sbatch` that records its calls. (`tests/slurm.sh` runs them
//! on a real Slurm.)

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_yaml::Value as Yaml;

const BINARY: &str = env!("CARGO_BIN_EXE_dicom-deid");

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn load_yaml(rel: &str) -> Yaml {
    let text = fs::read_to_string(repo_file(rel)).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn text<'a>(value: &'a Yaml, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value:?}"))
}

fn seq<'a>(value: &'a Yaml, what: &str) -> &'a Vec<Yaml> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("{what} is not a list: {value:?}"))
}

/// The value following `option` in `args`.
fn option_value<'a>(args: &'a [String], option: &str) -> Option<&'a str> {
    let at = args.iter().position(|a| a == option)?;
    args.get(at + 1).map(String::as_str)
}

/// The one container of a Job's pod template, its arguments and its volumes by mount path.
struct Pod {
    container: Yaml,
    args: Vec<String>,
    /// Mount path → (read-only mount, the volume's definition).
    mounts: BTreeMap<String, (bool, Yaml)>,
}

fn pod_of(job: &Yaml, file: &str) -> Pod {
    assert_eq!(job["apiVersion"], "batch/v1", "{file}");
    assert_eq!(job["kind"], "Job", "{file}");
    let spec = &job["spec"]["template"]["spec"];
    assert_eq!(
        spec["restartPolicy"], "Never",
        "{file}: a pod that failed is replaced by the Job, not restarted in place"
    );
    let containers = seq(&spec["containers"], "containers");
    assert_eq!(containers.len(), 1, "{file}: one container");
    let container = containers[0].clone();
    assert_eq!(
        container["command"],
        Yaml::Sequence(vec!["dicom-deid".into()]),
        "{file}: the binary is run directly, without a shell"
    );
    let args = seq(&container["args"], "args")
        .iter()
        .map(|a| text(a, "an argument").to_owned())
        .collect();
    let volumes: BTreeMap<&str, &Yaml> = seq(&spec["volumes"], "volumes")
        .iter()
        .map(|v| (text(&v["name"], "volume name"), v))
        .collect();
    let mounts = seq(&container["volumeMounts"], "volumeMounts")
        .iter()
        .map(|m| {
            let name = text(&m["name"], "mount name");
            let volume = volumes
                .get(name)
                .unwrap_or_else(|| panic!("{file}: mount of undefined volume {name}"));
            (
                text(&m["mountPath"], "mountPath").to_owned(),
                (m["readOnly"].as_bool() == Some(true), (*volume).clone()),
            )
        })
        .collect();
    Pod {
        container,
        args,
        mounts,
    }
}

impl Pod {
    /// The mount holding `path`: (mount path, read-only, volume).
    fn mount_of(&self, path: &str) -> (&str, bool, &Yaml) {
        self.mounts
            .iter()
            .find(|(mount, _)| path == mount.as_str() || path.starts_with(&format!("{mount}/")))
            .map(|(mount, (ro, volume))| (mount.as_str(), *ro, volume))
            .unwrap_or_else(|| panic!("{path} is on no mounted volume"))
    }

    /// The arguments with each mount path replaced by a local folder.
    fn local_args(&self, local: &BTreeMap<String, PathBuf>) -> Vec<String> {
        self.args
            .iter()
            .map(|arg| {
                local
                    .iter()
                    .find_map(|(mount, dir)| {
                        arg.strip_prefix(mount.as_str())
                            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
                            .map(|rest| format!("{}{rest}", dir.display()))
                    })
                    .unwrap_or_else(|| arg.clone())
            })
            .collect()
    }
}

fn claim(volume: &Yaml) -> &str {
    text(
        &volume["persistentVolumeClaim"]["claimName"],
        "a persistentVolumeClaim",
    )
}

#[test]
fn kubernetes_indexed_job_maps_the_completion_index_to_the_shard() {
    let file = "deploy/k8s/deid-job.yaml";
    let job = load_yaml(file);
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let n = spec["completions"].as_u64().expect("completions");
    let parallelism = spec["parallelism"].as_u64().expect("parallelism");
    assert!((1..=n).contains(&parallelism), "parallelism {parallelism}");
    let pod = pod_of(&job, file);
    let args = &pod.args;
    assert_eq!(args[0], "run");
    assert_eq!(
        option_value(args, "--shard-env"),
        Some(format!("JOB_COMPLETION_INDEX/{n}").as_str()),
        "the shard count must be the Job's completions"
    );
    assert!(
        !args.iter().any(|a| a == "--shard"),
        "the index comes from the Job"
    );
    for flag in ["--resume", "--exit-zero-on-file-failures"] {
        assert!(args.iter().any(|a| a == flag), "{flag} missing");
    }
    assert_eq!(
        option_value(args, "--jobs"),
        pod.container["resources"]["requests"]["cpu"].as_str(),
        "--jobs is the CPUs the pod requests"
    );

    // The key: a Secret, mounted read-only, readable by the pod's user only.
    let key_file = option_value(args, "--key-file").expect("--key-file");
    let (_, read_only, volume) = pod.mount_of(key_file);
    assert!(read_only, "the key is mounted read-only");
    assert!(
        volume["secret"]["secretName"].as_str().is_some(),
        "the key is a Secret"
    );
    assert_eq!(volume["secret"]["defaultMode"].as_u64(), Some(0o400));
    // INPUT read-only, OUTPUT writable, both shared claims.
    let (_, input_ro, input) = pod.mount_of(&args[1]);
    assert!(input_ro, "INPUT is mounted read-only");
    assert_eq!(
        input["persistentVolumeClaim"]["readOnly"].as_bool(),
        Some(true)
    );
    let (_, output_ro, output) = pod.mount_of(&args[2]);
    assert!(!output_ro, "OUTPUT is writable");
    assert_ne!(claim(input), claim(output));

    // Exit code 2 (the run could not start) fails the index at once; a crash is retried.
    assert!(spec["backoffLimitPerIndex"].as_u64().is_some());
    let rules = seq(&spec["podFailurePolicy"]["rules"], "podFailurePolicy rules");
    assert!(rules.iter().any(|r| r["action"] == "FailIndex"
        && r["onExitCodes"]["containerName"] == pod.container["name"]
        && r["onExitCodes"]["operator"] == "In"
        && r["onExitCodes"]["values"] == Yaml::Sequence(vec![2.into()])));

    // The merge Job reads the same output claim.
    let merge_file = "deploy/k8s/deid-merge-job.yaml";
    let merge = pod_of(&load_yaml(merge_file), merge_file);
    assert_eq!(merge.args[0], "summary");
    let (_, merge_ro, merge_output) = merge.mount_of(&merge.args[1]);
    assert!(!merge_ro, "the merge writes summary.json");
    assert_eq!(claim(merge_output), claim(output));
}

#[test]
fn kubernetes_jobs_played_out_locally_give_the_single_run() {
    let job = load_yaml("deploy/k8s/deid-job.yaml");
    let n = job["spec"]["completions"].as_u64().unwrap();
    let pod = pod_of(&job, "job");
    let merge = pod_of(&load_yaml("deploy/k8s/deid-merge-job.yaml"), "merge");

    let sb = Sandbox::new();
    let input = sb.path("input");
    write_synthetic_export(&input, 2 * n as usize);
    let single = sb.path("single");
    assert_code(&sb.run(&input, &single, &["--quiet"]), 0, "single run");
    // The Secret's volume holds each item under its path.
    let secret_dir = sb.path("secret");
    let key_name = text(
        &pod.mount_of(option_value(&pod.args, "--key-file").unwrap())
            .2["secret"]["items"][0]["path"],
        "item path",
    );
    fs::create_dir_all(&secret_dir).unwrap();
    fs::copy(&sb.key, secret_dir.join(key_name)).unwrap();
    let output = sb.path("output");
    let local: BTreeMap<String, PathBuf> = pod
        .mounts
        .iter()
        .map(|(mount, (_, volume))| {
            let dir = match (volume.get("secret"), volume.get("persistentVolumeClaim")) {
                (Some(_), _) => secret_dir.clone(),
                (_, Some(_)) if claim(volume) == claim(merge.mount_of(&merge.args[1]).2) => {
                    output.clone()
                }
                _ => input.clone(),
            };
            (mount.clone(), dir)
        })
        .collect();

    for index in 0..n {
        let out = sb
            .cmd()
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .args(pod.local_args(&local))
            .output()
            .unwrap();
        assert_code(&out, 0, &format!("pod {index}"));
    }
    let out = sb.cmd().args(merge.local_args(&local)).output().unwrap();
    assert_code(&out, 0, "the merge Job");
    assert!(output.join("summary.json").is_file());
    assert_eq!(dcm_tree(&output), dcm_tree(&single));
}

/// Run a Slurm script with bash as array task `task` would.
fn slurm_task(sb: &Sandbox, script: &str, task: Option<u32>, args: &[&Path]) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(repo_file(script))
        .args(args)
        .env("DICOM_DEID", BINARY)
        .env("SLURM_CPUS_PER_TASK", "1")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("DICOM_DEID_KEY_FILE")
        .env("HOME", &sb.home)
        .current_dir(sb.dir.path());
    if let Some(task) = task {
        cmd.env("SLURM_ARRAY_TASK_ID", task.to_string());
    }
    cmd.output().unwrap()
}

#[test]
fn slurm_scripts_run_the_shards_and_the_merge() {
    let sb = Sandbox::new();
    let input = sb.path("input");
    write_synthetic_export(&input, 8);
    let good = fs::read(input.join("P0/S1/IM000")).unwrap();
    fs::write(input.join("P0/S1/truncated"), &good[..good.len() / 2]).unwrap();
    let output = sb.path("output");
    let n = Path::new("3");
    let array = "deploy/slurm/deid-array.sbatch";
    for task in 1..=3 {
        let out = slurm_task(&sb, array, Some(task), &[&input, &output, &sb.key, n]);
        assert_code(
            &out,
            0,
            &format!("task {task}: exit 0 even with a failed file"),
        );
        assert!(output.join(format!("manifest-{task}-of-3.jsonl")).is_file());
    }
    // A requeued task finishes (here: finds finished) its shard instead of being refused.
    let again = slurm_task(&sb, array, Some(2), &[&input, &output, &sb.key, n]);
    assert_code(&again, 0, "task 2 again");
    let merge = slurm_task(&sb, "deploy/slurm/deid-merge.sbatch", None, &[&output]);
    assert_code(&merge, 1, "the merge of a run with a failed file");
    assert!(stderr(&merge).contains("1 failed"), "{}", stderr(&merge));
    assert!(
        output.join("summary.json").is_file(),
        "a whole run is merged"
    );

    for (task, args, says) in [
        (
            Some(4),
            vec![&*input, &output, &sb.key, n],
            "not a shard of 1..3",
        ),
        (
            Some(0),
            vec![&*input, &output, &sb.key, n],
            "not a shard of 1..3",
        ),
        (
            None,
            vec![&*input, &output, &sb.key, n],
            "not an array task",
        ),
        (Some(1), vec![&*input, &output], "usage"),
    ] {
        let out = slurm_task(&sb, array, task, &args);
        assert_ne!(out.status.code(), Some(0), "{says}");
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }
}

#[test]
fn slurm_submit_queues_the_merge_after_every_task() {
    let sb = Sandbox::new();
    let bin = sb.path("bin");
    fs::create_dir_all(&bin).unwrap();
    let log = sb.path("sbatch.log");
    let fake = bin.join("sbatch");
    fs::write(
        &fake,
        format!(
            "#!/bin/bash\necho \"$*\" >> '{}'\nn=$(wc -l < '{}')\necho \"$((41 + n));cluster\"\n",
            log.display(),
            log.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg(repo_file("deploy/slurm/submit.sh"))
        .args([
            "/shared/in",
            "/shared/out",
            "/shared/deid.key",
            "4",
            "--partition=long",
        ])
        .env("PATH", path)
        .output()
        .unwrap();
    assert_code(&out, 0, "submit.sh");
    assert_eq!(stdout(&out).trim(), "42 43", "the two job ids");
    let calls: Vec<String> = fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let script = |name: &str| {
        repo_file(&format!("deploy/slurm/{name}"))
            .display()
            .to_string()
    };
    assert_eq!(
        calls,
        [
            format!(
                "--parsable --array=1-4 --partition=long {} /shared/in /shared/out /shared/deid.key 4",
                script("deid-array.sbatch")
            ),
            format!(
                "--parsable --dependency=afterok:42 --kill-on-invalid-dep=yes --partition=long {} /shared/out",
                script("deid-merge.sbatch")
            ),
        ]
    );
}
