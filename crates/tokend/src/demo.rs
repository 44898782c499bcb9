//! `tokend demo`: fills the configured database with a demo learning area, "Demo Academy"
//! (a company → department → team hierarchy, learners, trainings, registrations at every
//! stage, live sessions with attendees), issues an access token for it, and prints the
//! credentials and ready-to-paste curl commands.
//!
//! Re-running it reuses an existing "Demo Academy" as it is (no second copy of the data) and
//! issues one more access token. Everything is written in one transaction, through the core
//! services, as an active administrator: the oldest one, or `demo-admin@localhost` (created
//! with a random password, printed once) when there is none.

use time::{Duration, OffsetDateTime, Time};
use token_core::CoreError;
use token_core::clock::{Clock, ManualClock, SystemClock};
use token_core::ids::AccountId;
use token_core::learning::{AreaScope, Attendance, LevelId, TrainingId, UserId};
use token_core::learning_service::{self, NewUser};
use token_core::model::{LearningArea, Role};
use token_core::secret::Password;
use token_core::service::{self, Caller, CreateAccessToken, CreateAccount, CreatedAccessToken, rfc3339};
use token_core::store::Store;
use token_store::{Db, DbStore, PoolOptions};

use crate::config::Common;

/// The demo learning area's name; its presence is what makes a re-run reuse it.
pub const AREA_NAME: &str = "Demo Academy";
/// The administrator created when the database has no active one.
const DEMO_ADMIN_EMAIL: &str = "demo-admin@localhost";
/// Where `tokend serve` listens by default.
const BASE_URL: &str = "http://127.0.0.1:8080";

/// What the transaction produced, for printing.
struct Outcome {
    area: LearningArea,
    seeded: Option<Seeded>,
    created_admin: Option<(String, Password)>,
    token: CreatedAccessToken,
}

/// Counts of the seeded data.
#[derive(Default)]
struct Seeded {
    levels: usize,
    users: usize,
    trainings: usize,
    registrations: usize,
    completed: usize,
    in_progress: usize,
    live_sessions: usize,
}

pub fn run(common: &Common) -> Result<(), String> {
    let db =
        Db::connect(&common.database_url, PoolOptions { migrate: true, max_connections: 2, ..PoolOptions::default() })
            .map_err(|e| e.to_string())?;
    let hasher = crate::cli::hasher(common)?;
    let policy = common.expiry_policy()?;
    let password = Password::generate().map_err(|e| e.to_string())?;
    let outcome = db
        .transaction(|s| {
            let (admin, created_admin) = acting_administrator(s, &hasher, password)?;
            let caller = Caller::Account(admin);
            let existing = service::list_learning_areas(s, caller)?.into_iter().find(|a| a.name.as_str() == AREA_NAME);
            let (area, seeded) = match existing {
                Some(area) => (area, None),
                None => {
                    let area = service::create_learning_area(s, &SystemClock, caller, AREA_NAME)?;
                    let scope = learning_service::admin_scope(s, caller, area.id)?;
                    let seeded = seed(s, scope)?;
                    (area, Some(seeded))
                }
            };
            let request = CreateAccessToken {
                learning_area_id: Some(area.id),
                name: format!("{AREA_NAME} integration"),
                expires_at: None,
            };
            let token = service::create_access_token(s, &SystemClock, &hasher, &policy, caller, request)?;
            Ok::<_, CoreError>(Outcome { area, seeded, created_admin, token })
        })
        .map_err(|e| e.to_string())?;
    print(&outcome);
    Ok(())
}

/// The oldest active administrator, or a new `demo-admin@localhost` with `password`.
fn acting_administrator(
    s: &mut DbStore<'_>,
    hasher: &token_core::secret::SecretHasher,
    password: Password,
) -> Result<(AccountId, Option<(String, Password)>), CoreError> {
    if let Some(admin) = s.list_accounts()?.into_iter().find(|a| a.is_active_administrator()) {
        return Ok((admin.id, None));
    }
    let new = CreateAccount {
        email: DEMO_ADMIN_EMAIL.to_owned(),
        display_name: "Demo Administrator".to_owned(),
        role: Role::Administrator,
        password: password.clone(),
    };
    let account = service::create_account(s, &SystemClock, hasher, Caller::System, new)?;
    Ok((account.id, Some((account.email.to_string(), password))))
}

// ---------------------------------------------------------------- the data

/// Teams: (department index, name).
const TEAMS: [(usize, &str); 4] = [(0, "Field Sales"), (0, "Inside Sales"), (1, "Warehouse"), (1, "Fleet")];

/// Learners: (team index, name, email).
const USERS: [(usize, &str, &str); 20] = [
    (0, "Amelia Hart", "amelia.hart@northwind.example"),
    (0, "Daniel Okafor", "daniel.okafor@northwind.example"),
    (0, "Sofia Márquez", "sofia.marquez@northwind.example"),
    (0, "Liam Chen", "liam.chen@northwind.example"),
    (0, "Priya Nair", "priya.nair@northwind.example"),
    (1, "Noah Fischer", "noah.fischer@northwind.example"),
    (1, "Chloé Dubois", "chloe.dubois@northwind.example"),
    (1, "Mateo Rossi", "mateo.rossi@northwind.example"),
    (1, "Hannah Schmidt", "hannah.schmidt@northwind.example"),
    (1, "Yusuf Demir", "yusuf.demir@northwind.example"),
    (2, "Grace Kim", "grace.kim@northwind.example"),
    (2, "Oliver Brennan", "oliver.brennan@northwind.example"),
    (2, "Aisha Bello", "aisha.bello@northwind.example"),
    (2, "Lukas Novák", "lukas.novak@northwind.example"),
    (2, "Emma Johansson", "emma.johansson@northwind.example"),
    (3, "Ethan Walsh", "ethan.walsh@northwind.example"),
    (3, "Mia Kowalski", "mia.kowalski@northwind.example"),
    (3, "Samuel Adeyemi", "samuel.adeyemi@northwind.example"),
    (3, "Zoe Papadopoulos", "zoe.papadopoulos@northwind.example"),
    (3, "Jonas Berg", "jonas.berg@northwind.example"),
];

/// Who owns a training: the whole company, a department, or a team.
#[derive(Clone, Copy)]
enum Owner {
    Company,
    Department(usize),
    Team(usize),
}

/// Trainings: (owner, title, description). Everyone under the owner is registered.
const TRAININGS: [(Owner, &str, &str); 5] = [
    (
        Owner::Company,
        "Workplace Safety Essentials",
        "Hazard spotting, safe lifting, fire and evacuation procedures, and how to report an incident. Mandatory every year for every employee.",
    ),
    (
        Owner::Company,
        "Data Protection and GDPR Basics",
        "What counts as personal data, lawful bases, handling customer records, and what to do in the first hour after a suspected breach.",
    ),
    (
        Owner::Department(0),
        "Consultative Selling",
        "Discovery questions, mapping a customer's logistics pain points to our services, handling objections, and closing without discounting.",
    ),
    (
        Owner::Team(2),
        "Forklift Operation Refresher",
        "Pre-shift inspection, load charts, stacking at height, pedestrian zones and battery charging. Includes a practical assessment.",
    ),
    (
        Owner::Team(3),
        "Defensive Driving for Fleet Drivers",
        "Hazard perception, safe following distances, fatigue management, driving in poor weather and eco-driving techniques.",
    ),
];

/// Progress of the n-th registration: a mix of not started, in progress and completed.
const PROGRESS: [u8; 12] = [100, 100, 60, 0, 100, 35, 100, 80, 0, 100, 15, 100];

/// Seeds the area: the clock walks from 60 days ago to yesterday so that creation,
/// registration and completion times look like a real history.
fn seed(s: &mut DbStore<'_>, scope: AreaScope) -> Result<Seeded, CoreError> {
    let today = SystemClock.now();
    let clock = ManualClock::new(today - Duration::days(60));
    let mut seeded = Seeded::default();

    let company = learning_service::create_level(s, &clock, scope, "Northwind Logistics", None)?.id;
    let mut departments = Vec::new();
    for name in ["Sales", "Operations"] {
        departments.push(learning_service::create_level(s, &clock, scope, name, Some(company))?.id);
    }
    let mut teams = Vec::new();
    for (department, name) in TEAMS {
        teams.push(learning_service::create_level(s, &clock, scope, name, Some(departments[department]))?.id);
    }
    seeded.levels = 1 + departments.len() + teams.len();

    let mut users: Vec<(usize, UserId)> = Vec::new();
    for (i, (team, name, email)) in USERS.into_iter().enumerate() {
        clock.set(today - Duration::days(58) + Duration::hours(i as i64 * 3));
        let new = NewUser { name: name.to_owned(), email: email.to_owned(), level_id: Some(teams[team]) };
        users.push((team, learning_service::create_user(s, &clock, scope, new)?.id));
    }
    seeded.users = users.len();

    let mut trainings: Vec<(Owner, TrainingId)> = Vec::new();
    for (i, (owner, title, description)) in TRAININGS.into_iter().enumerate() {
        clock.set(today - Duration::days(50) + Duration::days(i as i64));
        let level: LevelId = match owner {
            Owner::Company => company,
            Owner::Department(d) => departments[d],
            Owner::Team(t) => teams[t],
        };
        let training = learning_service::create_training(s, &clock, scope, title, description, Some(level))?;
        trainings.push((owner, training.id));
    }
    seeded.trainings = trainings.len();

    // Registrations: everyone under a training's owner, from 40 days ago on.
    let mut registrations = Vec::new();
    for (t, (owner, training)) in trainings.iter().enumerate() {
        for (u, (team, user)) in users.iter().enumerate() {
            let belongs = match *owner {
                Owner::Company => true,
                Owner::Department(d) => TEAMS[*team].0 == d,
                Owner::Team(t) => *team == t,
            };
            if belongs {
                clock.set(today - Duration::days(40) + Duration::days(t as i64 * 2) + Duration::minutes(u as i64 * 17));
                let (registration, _) = learning_service::register(s, &clock, scope, Some(*user), Some(*training))?;
                registrations.push(registration.id);
            }
        }
    }
    seeded.registrations = registrations.len();

    // Progress, recorded over the last 25 days: completions get a score.
    for (n, id) in registrations.iter().enumerate() {
        let progress = PROGRESS[n % PROGRESS.len()];
        if progress == 0 {
            continue;
        }
        clock.set(today - Duration::days(25) + Duration::hours(n as i64 * 9));
        let score = (progress == 100).then(|| 68 + ((n * 7) % 33) as u8);
        learning_service::record_progress(s, &clock, scope, *id, progress, score)?;
        if progress == 100 {
            seeded.completed += 1;
        } else {
            seeded.in_progress += 1;
        }
    }

    // Live sessions: one last week (attendance taken), two coming up (registered).
    clock.set(today - Duration::days(20));
    let at = |days: i64, hour: u8, minutes: i64| -> (OffsetDateTime, OffsetDateTime) {
        let start = (today + Duration::days(days)).replace_time(Time::from_hms(hour, 0, 0).unwrap_or(Time::MIDNIGHT));
        (start, start + Duration::minutes(minutes))
    };
    let user = |i: usize| users[i].1;
    let sessions = [
        (
            0,
            "Safety Q&A with the HSE team",
            at(-7, 10, 60),
            [0, 3, 5, 8, 10, 12, 15, 18]
                .iter()
                .enumerate()
                .map(|(k, i)| (user(*i), if k % 4 == 3 { Attendance::Absent } else { Attendance::Attended }))
                .collect::<Vec<_>>(),
        ),
        (
            1,
            "GDPR in practice: live case studies",
            at(2, 14, 90),
            [1, 6, 9, 11, 16, 19].iter().map(|i| (user(*i), Attendance::Registered)).collect(),
        ),
        (
            2,
            "Consultative Selling role-play workshop",
            at(9, 9, 180),
            (0..10).map(|i| (user(i), Attendance::Registered)).collect(),
        ),
    ];
    for (training, title, (starts_at, ends_at), attendees) in sessions {
        let live =
            learning_service::create_live_session(s, &clock, scope, trainings[training].1, title, starts_at, ends_at)?;
        for (user, attendance) in attendees {
            learning_service::record_attendance(s, scope, live.id, user, attendance)?;
        }
        seeded.live_sessions += 1;
    }
    Ok(seeded)
}

// ---------------------------------------------------------------- the report

fn print(o: &Outcome) {
    if let Some((email, password)) = &o.created_admin {
        println!("No active administrator existed: created one (password shown once; store it now):");
        println!("  email:    {email}");
        println!("  password: {}", password.expose());
        println!();
    }
    match &o.seeded {
        Some(s) => {
            println!("Created learning area {} \"{}\" with demo data:", o.area.id, o.area.name);
            println!(
                "  {} levels (company → departments → teams), {} users, {} trainings, {} live sessions",
                s.levels, s.users, s.trainings, s.live_sessions
            );
            println!(
                "  {} registrations: {} completed, {} in progress, {} not started",
                s.registrations,
                s.completed,
                s.in_progress,
                s.registrations - s.completed - s.in_progress
            );
        }
        None => println!(
            "Learning area {} \"{}\" already exists: its data is left as it is; issuing a new access token for it.",
            o.area.id, o.area.name
        ),
    }
    let token = &o.token.details.record.token;
    println!();
    println!("Access token {} \"{}\" (expires {}):", token.id, token.name, rfc3339(token.expires_at));
    println!("  learning area: {}", o.area.id);
    println!("  client ID:     {}", token.client_id);
    println!("  client secret: {}", o.token.client_secret.expose());
    println!("The secret is shown only now. Start the service (`tokend serve`) and try:");
    println!();
    println!("ID='{}'", token.client_id);
    println!("SECRET='{}'", o.token.client_secret.expose());
    println!("curl -u \"$ID:$SECRET\" -d grant_type=client_credentials {BASE_URL}/oauth/token");
    println!(
        "TOKEN=$(curl -s -u \"$ID:$SECRET\" -d grant_type=client_credentials {BASE_URL}/oauth/token | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')"
    );
    println!("curl -H \"Authorization: Bearer $TOKEN\" {BASE_URL}/api/v1/me");
    println!("curl -H \"Authorization: Bearer $TOKEN\" {BASE_URL}/api/v1/registrations");
    println!("curl -H \"Authorization: Bearer $TOKEN\" '{BASE_URL}/api/v1/registrations?status=completed&limit=5'");
    println!("curl -H \"Authorization: Bearer $TOKEN\" {BASE_URL}/api/v1/live-sessions");
}
