//! Django's `MigrationLoader` / `MigrationGraph` / `MigrationExecutor`: the dependency graph
//! of every app's migrations, the plan to a target (forwards, or backwards by unapplying), and
//! applying each step in its own transaction with its record in `django_migrations`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use super::operations::{Statements, Unsupported};
use super::recorder::MigrationRecorder;
use super::Migration;
use crate::db::{Connection, DatabaseError, Engine, ErrorKind};

/// A migration that could not be planned, applied or unapplied, named, with the reason.
#[derive(Debug, Clone)]
pub struct MigrationError {
    migration: Option<String>,
    message: String,
    database: Option<Box<DatabaseError>>,
}

impl MigrationError {
    pub(crate) fn new(migration: Option<String>, message: impl Into<String>) -> MigrationError {
        MigrationError {
            migration,
            message: message.into(),
            database: None,
        }
    }

    /// `app.name` of the migration, when the error is about one.
    pub fn migration(&self) -> Option<&str> {
        self.migration.as_deref()
    }

    /// The database's error, when there was one.
    pub fn database_error(&self) -> Option<&DatabaseError> {
        self.database.as_deref()
    }
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.migration {
            Some(m) => write!(f, "migration {m}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for MigrationError {}

impl From<DatabaseError> for MigrationError {
    fn from(e: DatabaseError) -> Self {
        MigrationError {
            migration: None,
            message: e.to_string(),
            database: Some(Box::new(e)),
        }
    }
}

/// Where `migrate` goes (Django's `migrate [app_label] [migration_name]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every app's latest migration (`migrate`).
    All,
    /// The app's latest migration (`migrate app`).
    App(String),
    /// Exactly this migration (`migrate app 0002`, a unique prefix is enough): later ones of
    /// the app, and what depends on them, are unapplied.
    Migration(String, String),
    /// None of the app's migrations (`migrate app zero`).
    Zero(String),
}

impl Target {
    /// From the command line's `app_label` and `migration_name`.
    pub fn parse(app_label: Option<&str>, name: Option<&str>) -> Target {
        match (app_label, name) {
            (None, _) => Target::All,
            (Some(app), None) => Target::App(app.to_string()),
            (Some(app), Some("zero")) => Target::Zero(app.to_string()),
            (Some(app), Some(name)) => Target::Migration(app.to_string(), name.to_string()),
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStep {
    /// The app.
    pub app_label: String,
    /// The migration.
    pub name: String,
    /// Unapplying rather than applying.
    pub backwards: bool,
}

impl fmt::Display for PlanStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.backwards {
            "Unapplying"
        } else {
            "Applying"
        };
        write!(f, "{verb} {}.{}", self.app_label, self.name)
    }
}

/// The migrations as a graph: each depends on its app's previous one (as `makemigrations`
/// writes them) and on what it names.
pub struct MigrationGraph<'a> {
    nodes: Vec<&'a Migration>,
    index: HashMap<(String, String), usize>,
    dependencies: Vec<Vec<usize>>,
    /// Every node, dependencies first (the order `migrate` applies in).
    order: Vec<usize>,
}

impl<'a> MigrationGraph<'a> {
    /// Builds the graph; a duplicate, a dependency on a migration that is not there, or a
    /// cycle is an error.
    pub fn new(migrations: &'a [Migration]) -> Result<MigrationGraph<'a>, MigrationError> {
        let mut index = HashMap::new();
        for (i, m) in migrations.iter().enumerate() {
            if index
                .insert((m.app_label.clone(), m.name.clone()), i)
                .is_some()
            {
                return Err(MigrationError::new(
                    Some(m.key()),
                    "declared twice (Conflicting migrations)",
                ));
            }
        }
        let mut previous: HashMap<&str, usize> = HashMap::new();
        let mut dependencies = Vec::with_capacity(migrations.len());
        for (i, m) in migrations.iter().enumerate() {
            let mut deps = Vec::new();
            if let Some(&p) = previous.get(m.app_label.as_str()) {
                deps.push(p);
            }
            for (app, name) in &m.dependencies {
                let dep = index.get(&(app.clone(), name.clone())).ok_or_else(|| {
                    MigrationError::new(
                        Some(m.key()),
                        format!(
                            "its dependencies reference nonexistent parent node ('{app}', '{name}')"
                        ),
                    )
                })?;
                if !deps.contains(dep) {
                    deps.push(*dep);
                }
            }
            previous.insert(&m.app_label, i);
            dependencies.push(deps);
        }
        let nodes: Vec<&Migration> = migrations.iter().collect();
        let order = topological(&nodes, &dependencies)?;
        Ok(MigrationGraph {
            nodes,
            index,
            dependencies,
            order,
        })
    }

    /// The app labels, sorted.
    pub fn app_labels(&self) -> Vec<&str> {
        let labels: BTreeSet<&str> = self.nodes.iter().map(|m| m.app_label.as_str()).collect();
        labels.into_iter().collect()
    }

    /// The app's migrations in the order they apply.
    pub fn app_migrations(&self, app_label: &str) -> Vec<&'a Migration> {
        self.order
            .iter()
            .map(|&i| self.nodes[i])
            .filter(|m| m.app_label == app_label)
            .collect()
    }

    fn find(&self, app: &str, name: &str) -> Result<usize, MigrationError> {
        if let Some(&i) = self.index.get(&(app.to_string(), name.to_string())) {
            return Ok(i);
        }
        if !self.nodes.iter().any(|m| m.app_label == app) {
            return Err(MigrationError::new(
                None,
                format!("App '{app}' does not have migrations."),
            ));
        }
        let matches: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].app_label == app && self.nodes[i].name.starts_with(name))
            .collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => Err(MigrationError::new(
                None,
                format!("Cannot find a migration matching '{name}' from app '{app}'."),
            )),
            _ => Err(MigrationError::new(
                None,
                format!(
                    "More than one migration matches '{name}' in app '{app}'. Please be more \
                     specific."
                ),
            )),
        }
    }

    /// Every node `targets` need, dependencies first (Django's `forwards_plan`).
    fn forwards_plan(&self, targets: &[usize]) -> Vec<usize> {
        let mut needed = vec![false; self.nodes.len()];
        let mut stack: Vec<usize> = targets.to_vec();
        while let Some(n) = stack.pop() {
            if !needed[n] {
                needed[n] = true;
                stack.extend(&self.dependencies[n]);
            }
        }
        self.order.iter().copied().filter(|&n| needed[n]).collect()
    }

    /// Every node that depends on `roots` (themselves included), dependents first.
    fn backwards_plan(&self, roots: &[usize]) -> Vec<usize> {
        let mut doomed = vec![false; self.nodes.len()];
        for &r in roots {
            doomed[r] = true;
        }
        for &n in &self.order {
            if self.dependencies[n].iter().any(|&d| doomed[d]) {
                doomed[n] = true;
            }
        }
        self.order
            .iter()
            .rev()
            .copied()
            .filter(|&n| doomed[n])
            .collect()
    }

    /// The steps from `applied` to `target`.
    pub fn plan(
        &self,
        target: &Target,
        applied: &BTreeSet<(String, String)>,
    ) -> Result<Vec<PlanStep>, MigrationError> {
        let is_applied = |n: usize| {
            let m = self.nodes[n];
            applied.contains(&(m.app_label.clone(), m.name.clone()))
        };
        let step = |n: usize, backwards: bool| PlanStep {
            app_label: self.nodes[n].app_label.clone(),
            name: self.nodes[n].name.clone(),
            backwards,
        };
        let forwards = |targets: &[usize]| {
            self.forwards_plan(targets)
                .into_iter()
                .filter(|&n| !is_applied(n))
                .map(|n| step(n, false))
                .collect::<Vec<_>>()
        };
        let backwards = |roots: &[usize]| {
            self.backwards_plan(roots)
                .into_iter()
                .filter(|&n| is_applied(n))
                .map(|n| step(n, true))
                .collect::<Vec<_>>()
        };
        let app_nodes = |app: &str| -> Result<Vec<usize>, MigrationError> {
            let nodes: Vec<usize> = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].app_label == app)
                .collect();
            if nodes.is_empty() {
                return Err(MigrationError::new(
                    None,
                    format!("App '{app}' does not have migrations."),
                ));
            }
            Ok(nodes)
        };
        Ok(match target {
            Target::All => forwards(&self.order),
            Target::App(app) => forwards(&app_nodes(app)?),
            Target::Zero(app) => backwards(&app_nodes(app)?),
            Target::Migration(app, name) => {
                let node = self.find(app, name)?;
                if is_applied(node) {
                    // Unapply the app's migrations after it, and what depends on them.
                    let children: Vec<usize> = (0..self.nodes.len())
                        .filter(|&c| {
                            self.nodes[c].app_label == *app && self.dependencies[c].contains(&node)
                        })
                        .collect();
                    backwards(&children)
                } else {
                    forwards(&[node])
                }
            }
        })
    }

    /// Django's `check_consistent_history`: an applied migration whose dependency is not.
    pub fn check_consistent_history(
        &self,
        applied: &BTreeSet<(String, String)>,
        alias: &str,
    ) -> Result<(), MigrationError> {
        let is_applied = |m: &Migration| applied.contains(&(m.app_label.clone(), m.name.clone()));
        for (n, m) in self.nodes.iter().enumerate() {
            if !is_applied(m) {
                continue;
            }
            for &d in &self.dependencies[n] {
                let dep = self.nodes[d];
                if !is_applied(dep) {
                    return Err(MigrationError::new(
                        Some(m.key()),
                        format!(
                            "InconsistentMigrationHistory: it is applied before its dependency \
                             {} on database '{alias}'.",
                            dep.key()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn get(&self, app: &str, name: &str) -> Option<&'a Migration> {
        self.index
            .get(&(app.to_string(), name.to_string()))
            .map(|&i| self.nodes[i])
    }
}

fn topological(nodes: &[&Migration], deps: &[Vec<usize>]) -> Result<Vec<usize>, MigrationError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut mark = vec![Mark::New; nodes.len()];
    let mut order = Vec::with_capacity(nodes.len());
    for start in 0..nodes.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // Iterative depth-first search: (node, next dependency to visit).
        let mut stack = vec![(start, 0usize)];
        mark[start] = Mark::Active;
        while let Some(&mut (n, ref mut next)) = stack.last_mut() {
            if let Some(&d) = deps[n].get(*next) {
                *next += 1;
                match mark[d] {
                    Mark::New => {
                        mark[d] = Mark::Active;
                        stack.push((d, 0));
                    }
                    Mark::Active => {
                        return Err(MigrationError::new(
                            Some(nodes[d].key()),
                            format!("circular dependency through {}", nodes[n].key()),
                        ))
                    }
                    Mark::Done => {}
                }
            } else {
                mark[n] = Mark::Done;
                order.push(n);
                stack.pop();
            }
        }
    }
    Ok(order)
}

/// Called before a step (`None`) and after it (its outcome).
pub type Progress<'p> = dyn FnMut(&PlanStep, Option<&Result<(), MigrationError>>) + 'p;

/// Django's `MigrationExecutor` on one connection.
pub struct MigrationExecutor<'a> {
    conn: Connection,
    graph: MigrationGraph<'a>,
}

impl<'a> MigrationExecutor<'a> {
    /// An executor of `migrations` on `conn`.
    pub fn new(
        conn: Connection,
        migrations: &'a [Migration],
    ) -> Result<MigrationExecutor<'a>, MigrationError> {
        Ok(MigrationExecutor {
            conn,
            graph: MigrationGraph::new(migrations)?,
        })
    }

    /// The graph.
    pub fn graph(&self) -> &MigrationGraph<'a> {
        &self.graph
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// What `django_migrations` says is applied.
    pub fn applied(&self) -> Result<BTreeSet<(String, String)>, MigrationError> {
        Ok(MigrationRecorder::new(&self.conn).applied_migrations()?)
    }

    /// The steps to `target` from what is applied; checks the history first.
    pub fn migration_plan(&self, target: &Target) -> Result<Vec<PlanStep>, MigrationError> {
        let applied = self.applied()?;
        self.graph
            .check_consistent_history(&applied, self.conn.alias())?;
        self.graph.plan(target, &applied)
    }

    /// Applies or unapplies one step, with its record, in one transaction when the migration
    /// is atomic: a failure leaves the schema and the history as they were, and names the
    /// migration and the database's error.
    pub fn run(&self, step: &PlanStep) -> Result<(), MigrationError> {
        let migration = self
            .graph
            .get(&step.app_label, &step.name)
            .ok_or_else(|| MigrationError::new(Some(step.key()), "is not in the graph"))?;
        let engine = self.conn.settings().engine;
        let statements = statements(migration, engine, step.backwards)
            .map_err(|e| MigrationError::new(Some(migration.key()), e.0))?;
        let recorder = MigrationRecorder::new(&self.conn);
        // The table exists before the transaction (as Django's ensure_schema runs first).
        recorder.ensure_schema()?;
        // SQLite rebuilds a table to alter it (new__t, copy, drop, rename), which the
        // foreign keys pointing at it would refuse: Django's SQLite schema editor turns them off
        // around the migration (outside its transaction, where the pragma has no effect) and
        // runs foreign_key_check before the commit, so a migration cannot leave a dangling
        // reference.
        let sqlite_fks = engine == Engine::Sqlite && !self.conn.in_atomic_block();
        if sqlite_fks {
            self.conn.execute_script("PRAGMA foreign_keys = OFF")?;
        }
        let apply = || -> Result<(), DatabaseError> {
            for sql in &statements {
                self.conn.execute_script(sql)?;
            }
            if sqlite_fks {
                let violations = self.conn.query("PRAGMA foreign_key_check", &[])?;
                if let Some(row) = violations.first() {
                    let table: String = row.get(0).unwrap_or_default();
                    return Err(DatabaseError::new(
                        ErrorKind::IntegrityError,
                        self.conn.alias(),
                        "checking foreign keys",
                        format!(
                            "{} row(s) violate a foreign key (first in table {table:?})",
                            violations.len()
                        ),
                    ));
                }
            }
            if step.backwards {
                recorder.record_unapplied(&migration.app_label, &migration.name)
            } else {
                recorder.record_applied(&migration.app_label, &migration.name)
            }
        };
        let outcome = if migration.atomic {
            self.conn.atomic(apply)
        } else {
            apply()
        };
        if sqlite_fks {
            self.conn.execute_script("PRAGMA foreign_keys = ON")?;
        }
        outcome.map_err(|e| MigrationError {
            migration: Some(migration.key()),
            message: format!("{} failed: {e}", step),
            database: Some(Box::new(e)),
        })
    }

    /// Runs the plan to `target`, calling `progress` before and after each step (Django's
    /// `  Applying notes.0001_initial... OK`); stops at the first failure.
    pub fn migrate(
        &self,
        target: &Target,
        progress: &mut Progress<'_>,
    ) -> Result<Vec<PlanStep>, MigrationError> {
        let plan = self.migration_plan(target)?;
        for step in &plan {
            progress(step, None);
            let result = self.run(step);
            progress(step, Some(&result));
            result?;
        }
        Ok(plan)
    }

    /// Django's `showmigrations` (list format) for `app_labels` (empty: every app).
    pub fn show_migrations(&self, app_labels: &[&str]) -> Result<String, MigrationError> {
        let applied = self.applied()?;
        let all = self.graph.app_labels();
        let labels: Vec<&str> = if app_labels.is_empty() {
            all
        } else {
            for label in app_labels {
                if !all.contains(label) {
                    return Err(MigrationError::new(
                        None,
                        format!("No migrations present for: {label}"),
                    ));
                }
            }
            let mut labels = app_labels.to_vec();
            labels.sort_unstable();
            labels
        };
        Ok(show_list(&self.graph, &labels, &applied))
    }
}

fn show_list(
    graph: &MigrationGraph<'_>,
    labels: &[&str],
    applied: &BTreeSet<(String, String)>,
) -> String {
    let mut out = String::new();
    for label in labels {
        out.push_str(label);
        out.push('\n');
        let migrations = graph.app_migrations(label);
        if migrations.is_empty() {
            out.push_str(" (no migrations)\n");
        }
        for m in migrations {
            let mark = if applied.contains(&(m.app_label.clone(), m.name.clone())) {
                "X"
            } else {
                " "
            };
            out.push_str(&format!(" [{mark}] {}\n", m.name));
        }
    }
    out
}

/// Every statement of `migration` on `engine`, deferred ones last; undoing runs the
/// operations in reverse.
pub fn statements(
    migration: &Migration,
    engine: Engine,
    backwards: bool,
) -> Result<Vec<String>, Unsupported> {
    let mut now = Vec::new();
    let mut deferred = Vec::new();
    let ops: Vec<_> = if backwards {
        migration.operations.iter().rev().collect()
    } else {
        migration.operations.iter().collect()
    };
    for op in ops {
        let Statements {
            now: n,
            deferred: d,
        } = if backwards {
            op.backwards(&migration.app_label, engine)
                .map_err(|e| Unsupported(format!("{} is irreversible: {}", op.describe(), e.0)))?
        } else {
            op.forwards(&migration.app_label, engine)?
        };
        now.extend(n);
        deferred.extend(d);
    }
    now.extend(deferred);
    Ok(now)
}

/// Django's `sqlmigrate` output: `BEGIN;`, a comment per operation, its statements, the
/// deferred ones, `COMMIT;`.
pub fn sqlmigrate(
    migration: &Migration,
    engine: Engine,
    backwards: bool,
) -> Result<String, MigrationError> {
    let mut out = String::new();
    if migration.atomic {
        out.push_str("BEGIN;\n");
    }
    let mut deferred = Vec::new();
    let ops: Vec<_> = if backwards {
        migration.operations.iter().rev().collect()
    } else {
        migration.operations.iter().collect()
    };
    for op in ops {
        out.push_str(&format!("--\n-- {}\n--\n", op.describe()));
        let s = if backwards {
            op.backwards(&migration.app_label, engine)
        } else {
            op.forwards(&migration.app_label, engine)
        }
        .map_err(|e| MigrationError::new(Some(migration.key()), e.0))?;
        for sql in s.now {
            out.push_str(&sql);
            out.push_str(";\n");
        }
        deferred.extend(s.deferred);
    }
    for sql in deferred {
        out.push_str(&sql);
        out.push_str(";\n");
    }
    if migration.atomic {
        out.push_str("COMMIT;\n");
    }
    Ok(out)
}

impl PlanStep {
    fn key(&self) -> String {
        format!("{}.{}", self.app_label, self.name)
    }
}

/// Groups migrations by app, for callers that list them.
pub fn by_app(migrations: &[Migration]) -> BTreeMap<&str, Vec<&Migration>> {
    let mut map: BTreeMap<&str, Vec<&Migration>> = BTreeMap::new();
    for m in migrations {
        map.entry(&m.app_label).or_default().push(m);
    }
    map
}
