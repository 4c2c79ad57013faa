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
}

/// The state names the scripts receive, as keepalived spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyState {
    Master,
    Backup,
    Fault,
    Stop,
}

impl NotifyState {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
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

    pub fn is_empty(&self) -> bool {
        self.master.is_none()
            && self.backup.is_none()
            && self.fault.is_none()
            && self.stop.is_none()
            && self.generic.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::script::testing::{sc, w};

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
