//! The notify scripts of one VRRP instance or sync group, and the command
//! lines a transition runs (the state's own script, then the generic
//! `notify` with its four arguments).
//!
//! Plain values; running them is [`super::queue`]'s.

use super::line::Script;

/// Whether a notification is about a VRRP instance or a sync group
/// (the first of the generic `notify` script's extra arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Instance,
    Group,
}

impl Subject {
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Instance => "INSTANCE",
            Subject::Group => "GROUP",
        }
    }
}

/// The notify scripts configured for one instance or sync group, each
/// already split into words, with the user it runs as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyScripts {
    pub master: Option<Script>,
    pub backup: Option<Script>,
    pub fault: Option<Script>,
    pub stop: Option<Script>,
    pub generic: Option<Script>,
    /// `notify_master_rx_lower_pri` (instances only): run as written, with
    /// no state arguments.
    pub master_rx_lower_pri: Option<Script>,
    /// `notify_priority_changes` (resolved: the instance's, else its sync
    /// group's, else `vrrp_notify_priority_changes`): a FIFO line
    /// `INSTANCE "NAME" MASTER_PRIORITY|BACKUP_PRIORITY PRIO` each time
    /// the effective priority moves.
    pub priority_changes: bool,
    /// `notify_deleted [SCRIPT]` (instances only): `Some` when given, with
    /// its script if it has one (see [`NotifyScripts::deleted`]).
    pub notify_deleted: Option<Option<Script>>,
}

/// The state names the scripts receive, as keepalived spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyState {
    Master,
    Backup,
    Fault,
    Stop,
    /// A reload removed the instance and it has `notify_deleted`.
    Deleted,
}

impl NotifyState {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
            NotifyState::Deleted => "DELETED",
        }
    }
}

impl NotifyScripts {
    /// The command lines to run, in keepalived's order, for a transition to
    /// `state`: the state's own script first, then the generic `notify`
    /// with `INSTANCE|GROUP NAME STATE PRIORITY` appended.
    pub fn commands(
        &self,
        subject: Subject,
        name: &str,
        state: NotifyState,
        priority: u8,
    ) -> Vec<Script> {
        let specific = match state {
            NotifyState::Master => &self.master,
            NotifyState::Backup => &self.backup,
            NotifyState::Fault => &self.fault,
            NotifyState::Stop => &self.stop,
            NotifyState::Deleted => match &self.notify_deleted {
                Some(s) => s,
                None => &None,
            },
        };
        let mut out = Vec::new();
        if let Some(argv) = specific {
            out.push(argv.clone());
        }
        if let Some(script) = &self.generic {
            let mut script = script.clone();
            script.argv.extend([
                subject.as_str().to_string(),
                name.to_string(),
                state.as_str().to_string(),
                priority.to_string(),
            ]);
            out.push(script);
        }
        out
    }

    /// A reload removed the instance, which was in FAULT (`was_fault`) or
    /// not: the state word its notifies say, or `None` for none at all
    /// (keepalived's `clear_diff_vrrp` and `send_instance_notifies`). With
    /// `notify_deleted`, DELETED, and its script runs; without it, FAULT
    /// (keepalived's old way) unless it was in FAULT already, and
    /// `notify_fault` does not run (keepalived picks the state's script
    /// while the state is still DELETED, which has none).
    pub fn deleted(&self, was_fault: bool) -> Option<NotifyState> {
        match (&self.notify_deleted, was_fault) {
            (Some(_), _) => Some(NotifyState::Deleted),
            (None, true) => None,
            (None, false) => Some(NotifyState::Fault),
        }
    }

    /// [`NotifyScripts::commands`] for an instance a reload removed, in
    /// `state` from [`NotifyScripts::deleted`]: only the generic `notify`
    /// and `notify_deleted`'s script.
    pub fn deleted_commands(&self, name: &str, state: NotifyState, priority: u8) -> Vec<Script> {
        let generic_only = NotifyScripts {
            generic: self.generic.clone(),
            notify_deleted: self.notify_deleted.clone(),
            ..Default::default()
        };
        generic_only.commands(Subject::Instance, name, state, priority)
    }

    pub fn is_empty(&self) -> bool {
        self.master.is_none()
            && self.backup.is_none()
            && self.fault.is_none()
            && self.stop.is_none()
            && self.generic.is_none()
            && !matches!(self.notify_deleted, Some(Some(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::script::testing::{sc, w};

    fn argvs(v: Vec<Script>) -> Vec<Vec<String>> {
        v.into_iter().map(|s| s.argv).collect()
    }

    #[test]
    fn a_deleted_instance_says_fault_without_notify_deleted_and_deleted_with_it() {
        let mut s = NotifyScripts {
            fault: Some(sc(&["/f.sh"])),
            generic: Some(sc(&["/n.sh"])),
            ..Default::default()
        };
        // keepalived 2.2.7: FAULT to `notify`, not notify_fault; nothing
        // for an instance already in FAULT.
        assert_eq!(s.deleted(true), None);
        let st = s.deleted(false).unwrap();
        assert_eq!(
            argvs(s.deleted_commands("VI_1", st, 100)),
            vec![w(&["/n.sh", "INSTANCE", "VI_1", "FAULT", "100"])]
        );
        s.notify_deleted = Some(Some(sc(&["/d.sh"])));
        let st = s.deleted(true).unwrap();
        assert_eq!(
            argvs(s.deleted_commands("VI_1", st, 100)),
            vec![
                w(&["/d.sh"]),
                w(&["/n.sh", "INSTANCE", "VI_1", "DELETED", "100"])
            ]
        );
        s.notify_deleted = Some(None);
        assert_eq!(
            argvs(s.deleted_commands("VI_1", st, 90)),
            vec![w(&["/n.sh", "INSTANCE", "VI_1", "DELETED", "90"])]
        );
    }

    #[test]
    fn generic_notify_gets_four_arguments_after_the_specific_script() {
        let s = NotifyScripts {
            master: Some(sc(&["/m.sh"])),
            generic: Some(sc(&["/n.sh", "x"])),
            ..Default::default()
        };
        assert_eq!(
            s.commands(Subject::Instance, "VI_1", NotifyState::Master, 150)
                .into_iter()
                .map(|s| s.argv)
                .collect::<Vec<_>>(),
            vec![
                w(&["/m.sh"]),
                w(&["/n.sh", "x", "INSTANCE", "VI_1", "MASTER", "150"])
            ]
        );
        assert_eq!(
            s.commands(Subject::Group, "G1", NotifyState::Fault, 0)
                .into_iter()
                .map(|s| s.argv)
                .collect::<Vec<_>>(),
            vec![w(&["/n.sh", "x", "GROUP", "G1", "FAULT", "0"])]
        );
    }
}
