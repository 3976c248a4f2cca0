//! The state as JSON context for `events --context`: the `proc`, `user`,
//! `group` and `container` objects of a thread.

use super::*;

impl State {
    /// The `proc`, `user`, `group` and `container` context of thread `tid`
    /// as JSON objects keyed by field name (`name`, `pname`, ...), to add
    /// to an event's JSON.  Unknown values are `null`; an unknown thread
    /// gives no objects.
    pub fn context_json(&self, tid: u32) -> Map<String, Value> {
        let mut out = Map::new();
        let Some(p) = self.process(tid) else {
            return out;
        };
        let parent = self.parent(p);
        let anames: Vec<&str> = self.lineage(p).skip(1).map(Process::name).collect();
        let sname = self.session_leader(p).map(Process::name);
        let vtid = self.thread(tid).map_or(0, |t| t.vtid);
        let nz = |v: u32| if v == 0 { Value::Null } else { json!(v) };
        out.insert(
            "proc".into(),
            json!({
                "pid": p.pid,
                "vpid": nz(p.vpid),
                "vtid": nz(vtid),
                "name": p.name(),
                "exe": p.exe(),
                "exepath": &*p.exepath,
                "cmdline": p.cmdline_line(),
                "cwd": if p.cwd.is_empty() { Value::Null } else { json!(&*p.cwd) },
                "tty": p.tty,
                "ppid": p.ppid,
                "pname": parent.map(Process::name),
                "pcmdline": parent.map(Process::cmdline_line),
                "anames": anames,
                "sid": p.sid,
                "sname": sname,
                "vpgid": nz(p.vpgid),
            }),
        );
        let id = |v: u32| {
            if v == UNKNOWN_ID {
                Value::Null
            } else {
                json!(v)
            }
        };
        out.insert(
            "user".into(),
            json!({
                "uid": id(p.creds.euid),
                "name": self.user_name(tid).as_deref(),
                "loginuid": id(p.creds.loginuid),
                "loginname": self.login_name(tid).as_deref(),
            }),
        );
        out.insert(
            "group".into(),
            json!({"gid": id(p.creds.egid), "name": self.group_name(tid).as_deref()}),
        );
        let c = match &p.container {
            None if p.cgroup_unknown => json!({"id": null}),
            None => json!({"id": HOST}),
            Some(c) => json!({
                "id": c.id,
                "full_id": c.full_id,
                "type": c.runtime.name(),
                "metadata": c.metadata_found,
                "name": c.name,
                "image": c.image,
                "image.repository": c.image_repository,
                "image.tag": c.image_tag,
                "privileged": c.privileged,
                "k8s.pod.name": c.pod_name,
                "k8s.ns.name": c.pod_namespace,
                "k8s.pod.uid": c.pod_uid,
                "k8s.pod.labels": c.pod_labels.as_ref().map(|l| {
                    l.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<_, _>>()
                }),
            }),
        };
        out.insert("container".into(), c);
        out
    }
}
