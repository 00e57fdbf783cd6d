//! A generated tenant for `loadout-bench decide`: 100,000 people in 12 departments (each with
//! its titles and office mix), 10 offices in 3 regions, managers, contractors and interns,
//! directory groups (mostly ones no policy reads), devices from a small corporate fleet, a
//! 300-app catalog in bundles and a policy set over it (department, title, regional, office,
//! manager, pilot and self-service permits; contractor, BYOD, compliance, intern and regional
//! forbids). Deterministic by seed.

use loadout::domain::{
    AppId, Catalog, CatalogApp, Device, Employee, Ownership, Platform, Population, Risk, UserId,
};

/// SplitMix64: a tiny seeded generator, the same sequence everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn weighted<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = (self.next() % u64::from(total.max(1))) as u32;
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        &items[items.len() - 1].0
    }
}

const OFFICES: [(&str, &str); 10] = [
    ("Austin", "NA"),
    ("New York", "NA"),
    ("San Francisco", "NA"),
    ("Toronto", "NA"),
    ("London", "EMEA"),
    ("Berlin", "EMEA"),
    ("Dublin", "EMEA"),
    ("Singapore", "APAC"),
    ("Sydney", "APAC"),
    ("Bangalore", "APAC"),
];

struct Department {
    name: &'static str,
    share: u32,
    mac_share: f64,
    /// Office weights, in OFFICES order.
    offices: [u32; 10],
    titles: &'static [(&'static str, u32)],
}

const DEPARTMENTS: [Department; 12] = [
    Department {
        name: "Engineering",
        share: 22,
        mac_share: 0.85,
        offices: [3, 0, 4, 2, 1, 3, 0, 0, 0, 3],
        titles: &[
            ("Software Engineer", 30),
            ("Senior Software Engineer", 22),
            ("Frontend Engineer", 10),
            ("Mobile Engineer", 7),
            ("Site Reliability Engineer", 8),
            ("QA Engineer", 8),
            ("Security Engineer", 5),
        ],
    },
    Department {
        name: "Sales",
        share: 17,
        mac_share: 0.6,
        offices: [3, 4, 2, 1, 3, 1, 1, 2, 2, 0],
        titles: &[
            ("Account Executive", 32),
            ("Sales Development Representative", 28),
            ("Account Manager", 15),
            ("Sales Engineer", 10),
            ("Sales Operations Analyst", 5),
        ],
    },
    Department {
        name: "Support",
        share: 11,
        mac_share: 0.1,
        offices: [3, 0, 0, 1, 1, 0, 4, 2, 1, 4],
        titles: &[
            ("Customer Support Specialist", 50),
            ("Technical Support Engineer", 25),
            ("Customer Success Manager", 15),
            ("Support Operations Analyst", 5),
        ],
    },
    Department {
        name: "Marketing",
        share: 8,
        mac_share: 0.8,
        offices: [1, 4, 2, 0, 2, 0, 0, 0, 0, 0],
        titles: &[
            ("Product Marketing Manager", 20),
            ("Content Marketing Manager", 15),
            ("Growth Marketer", 15),
            ("Field Marketing Manager", 15),
            ("Marketing Coordinator", 15),
        ],
    },
    Department {
        name: "Product",
        share: 6,
        mac_share: 0.9,
        offices: [2, 0, 4, 1, 1, 2, 0, 0, 0, 0],
        titles: &[
            ("Product Manager", 45),
            ("Senior Product Manager", 25),
            ("Technical Program Manager", 15),
            ("Product Analyst", 15),
        ],
    },
    Department {
        name: "Operations",
        share: 6,
        mac_share: 0.4,
        offices: [3, 3, 2, 1, 2, 1, 1, 1, 1, 1],
        titles: &[
            ("Business Operations Analyst", 30),
            ("Program Manager", 25),
            ("Procurement Specialist", 20),
            ("Facilities Coordinator", 25),
        ],
    },
    Department {
        name: "Data",
        share: 5,
        mac_share: 0.85,
        offices: [0, 0, 3, 1, 1, 2, 0, 0, 0, 3],
        titles: &[
            ("Data Scientist", 35),
            ("Data Analyst", 35),
            ("Machine Learning Engineer", 15),
            ("Analytics Engineer", 15),
        ],
    },
    Department {
        name: "Design",
        share: 5,
        mac_share: 0.95,
        offices: [0, 2, 3, 0, 2, 2, 0, 0, 0, 0],
        titles: &[
            ("Product Designer", 40),
            ("Senior Product Designer", 20),
            ("UX Researcher", 20),
            ("Visual Designer", 10),
            ("Content Designer", 10),
        ],
    },
    Department {
        name: "Finance",
        share: 5,
        mac_share: 0.15,
        offices: [2, 4, 0, 0, 2, 0, 1, 1, 0, 0],
        titles: &[
            ("Financial Analyst", 35),
            ("Accountant", 30),
            ("Accounts Payable Specialist", 15),
            ("Payroll Specialist", 10),
            ("Tax Specialist", 10),
        ],
    },
    Department {
        name: "People",
        share: 4,
        mac_share: 0.2,
        offices: [3, 1, 0, 0, 2, 0, 0, 1, 0, 0],
        titles: &[
            ("HR Business Partner", 30),
            ("Recruiter", 35),
            ("People Operations Specialist", 20),
            ("Learning and Development Specialist", 15),
        ],
    },
    Department {
        name: "IT",
        share: 4,
        mac_share: 0.3,
        offices: [3, 1, 0, 0, 0, 0, 2, 0, 0, 2],
        titles: &[
            ("IT Support Specialist", 45),
            ("Endpoint Engineer", 20),
            ("Systems Administrator", 20),
            ("Network Engineer", 15),
        ],
    },
    Department {
        name: "Legal",
        share: 3,
        mac_share: 0.5,
        offices: [0, 4, 1, 0, 2, 0, 0, 0, 0, 0],
        titles: &[
            ("Corporate Counsel", 35),
            ("Paralegal", 30),
            ("Contracts Manager", 25),
            ("Privacy Counsel", 10),
        ],
    },
];

const PROJECTS: usize = 40;

fn slug(name: &str) -> String {
    name.to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// The generated tenant.
pub struct Tenant {
    pub population: Population,
    pub catalog: Catalog,
    pub policies: Vec<(String, String)>,
}

pub fn tenant(users: usize, apps: usize, seed: u64) -> Result<Tenant, String> {
    let mut rng = Rng::new(seed);
    let (catalog, bundles) = catalog(&mut rng, apps)?;
    let (employees, devices) = people(&mut rng, users);
    Ok(Tenant {
        population: Population::new(employees, devices),
        catalog,
        policies: policies(&bundles),
    })
}

/// Bundle names by kind, for the policies.
struct Bundles {
    departments: Vec<(String, String)>,
    titles: Vec<(String, String)>,
    regions: Vec<(String, String, String)>,
}

fn catalog(rng: &mut Rng, total: usize) -> Result<(Catalog, Bundles), String> {
    let mut apps: Vec<CatalogApp> = Vec::new();
    let add = |apps: &mut Vec<CatalogApp>,
               rng: &mut Rng,
               bundle: &str,
               licensed: Option<bool>,
               risk: Option<Risk>| {
        let n = apps.len();
        let licensed = licensed.unwrap_or_else(|| rng.chance(0.75));
        let risk = risk.unwrap_or_else(|| {
            *rng.weighted(&[(Risk::Low, 6), (Risk::Medium, 3), (Risk::High, 1)])
        });
        let platforms = match rng.below(4) {
            0 => vec![Platform::Windows, Platform::MacOs],
            1 => vec![Platform::Ios, Platform::Android],
            _ => Platform::ALL.to_vec(),
        };
        apps.push(CatalogApp {
            id: AppId::new(format!("app-{n:03}")),
            name: format!("App {n}"),
            uem_app_id: format!("{}", 9000 + n),
            platforms,
            bundles: vec![bundle.to_owned()],
            licensed,
            cost_per_seat: if licensed {
                [5.0, 8.0, 12.0, 20.0, 35.0, 75.0][rng.below(6)]
            } else {
                0.0
            },
            risk,
            ..CatalogApp::default()
        });
    };
    for _ in 0..12 {
        add(&mut apps, rng, "core", None, Some(Risk::Low));
    }
    for _ in 0..3 {
        add(&mut apps, rng, "security", None, Some(Risk::Low));
    }
    let mut bundles = Bundles {
        departments: vec![],
        titles: vec![],
        regions: vec![],
    };
    for d in &DEPARTMENTS {
        let bundle = slug(d.name);
        for _ in 0..9 {
            add(&mut apps, rng, &bundle, None, None);
        }
        bundles.departments.push((d.name.to_owned(), bundle));
        for (title, _) in d.titles {
            let bundle = format!("role-{}", slug(title));
            add(&mut apps, rng, &bundle, None, None);
            bundles.titles.push(((*title).to_owned(), bundle));
        }
    }
    for d in DEPARTMENTS.iter().take(6) {
        for region in ["NA", "EMEA", "APAC"] {
            let bundle = format!("{}-{}", slug(d.name), region.to_ascii_lowercase());
            add(&mut apps, rng, &bundle, None, None);
            bundles
                .regions
                .push((d.name.to_owned(), region.to_owned(), bundle));
        }
    }
    for _ in 0..10 {
        add(&mut apps, rng, "office", Some(false), Some(Risk::Low));
    }
    for _ in 0..20 {
        add(&mut apps, rng, "productivity", None, None);
    }
    add(&mut apps, rng, "management", Some(true), Some(Risk::Low));
    add(&mut apps, rng, "management", Some(true), Some(Risk::Medium));
    add(&mut apps, rng, "pilot", Some(true), Some(Risk::Medium));
    while apps.len() < total {
        add(&mut apps, rng, "self-service", None, None);
    }
    apps.truncate(total);
    Ok((
        Catalog::from_apps(apps).map_err(|e| e.to_string())?,
        bundles,
    ))
}

fn people(rng: &mut Rng, users: usize) -> (Vec<Employee>, Vec<Device>) {
    let departments: Vec<(usize, u32)> = DEPARTMENTS
        .iter()
        .enumerate()
        .map(|(i, d)| (i, d.share))
        .collect();
    let mut employees = Vec::with_capacity(users);
    let mut devices = Vec::with_capacity(users * 2);
    // Managers: about one in eight, each managing the next few people of their department.
    let mut last_manager: Vec<Option<UserId>> = vec![None; DEPARTMENTS.len()];
    for n in 0..users {
        let d_index = *rng.weighted(&departments);
        let d = &DEPARTMENTS[d_index];
        let offices: Vec<(usize, u32)> = d.offices.iter().copied().enumerate().collect();
        let (location, region) = OFFICES[*rng.weighted(&offices)];
        let kind = *rng.weighted(&[
            ("Full-time", 85),
            ("Part-time", 5),
            ("Contractor", 7),
            ("Intern", 3),
        ]);
        let title = if kind == "Intern" {
            format!("{} Intern", d.name)
        } else {
            (*rng.weighted(d.titles)).to_owned()
        };
        let id = UserId::new(format!("u{n:06}"));
        let mut groups = vec![
            "all-staff".to_owned(),
            slug(d.name),
            format!("{}-office", slug(location)),
        ];
        match kind {
            "Contractor" => groups.push("contractors".to_owned()),
            "Intern" => groups.push("interns".to_owned()),
            _ => {}
        }
        if rng.chance(0.02) {
            groups.push("pilot".to_owned());
        }
        for _ in 0..rng.below(3) {
            groups.push(format!("proj-{}", rng.below(PROJECTS)));
        }
        let manager_id = if kind == "Full-time" && rng.chance(0.125) {
            last_manager[d_index].replace(id.clone())
        } else {
            last_manager[d_index].clone()
        };
        employees.push(Employee {
            id: id.clone(),
            email: format!("{id}@example.com"),
            department: d.name.to_owned(),
            title,
            location: location.to_owned(),
            region: region.to_owned(),
            employment_type: kind.to_owned(),
            manager_id,
            groups,
            account_name: None,
            upn: None,
        });
        if rng.chance(0.01) {
            continue; // a new hire, not enrolled yet
        }
        let laptop = if rng.chance(d.mac_share) {
            (Platform::MacOs, ["14.7", "15.0.1", "15.1"][rng.below(3)])
        } else {
            (
                Platform::Windows,
                ["10.0.22631", "10.0.26100"][rng.below(2)],
            )
        };
        let mut plan = vec![(laptop, Ownership::Corporate)];
        if kind != "Contractor" || rng.chance(0.3) {
            let phone = if rng.chance(0.6) {
                (Platform::Ios, ["17.6.1", "18.0.1", "18.1"][rng.below(3)])
            } else {
                (Platform::Android, ["14", "15"][rng.below(2)])
            };
            let owner = if rng.chance(0.35) {
                Ownership::Employee
            } else {
                Ownership::Corporate
            };
            plan.push((phone, owner));
        }
        if rng.chance(0.05) {
            plan.push(((Platform::Ios, "18.1"), Ownership::Corporate));
        }
        for ((platform, version), ownership) in plan {
            devices.push(Device {
                device_id: format!("{}", 1_000_000 + devices.len()),
                user_id: id.clone(),
                platform,
                os_version: version.to_owned(),
                model: format!("{platform} model {}", rng.below(4)),
                ownership,
                compliant: rng.chance(0.97),
                free_storage_mb: None,
            });
        }
    }
    (employees, devices)
}

fn policies(bundles: &Bundles) -> Vec<(String, String)> {
    let mut core = String::from(
        r#"@id("core-apps") @reason("Everyone gets the core apps.") @push("auto")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"core");

@id("security-baseline") @reason("Every device gets the security baseline.") @push("auto")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"security");

@id("office-tools") @reason("Office staff get the office tools on corporate devices.") @push("on_demand")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"office")
when { ["Austin", "New York", "London", "Berlin", "Dublin", "Singapore"].contains(principal.location) && context.device.ownership != "Employee" };

@id("manager-tools") @reason("People managers get the management tools.") @push("auto")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"management")
when { principal.is_manager };

@id("pilot") @reason("The pilot group tries new tools.") @push("on_demand")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"pilot")
when { principal in Loadout::Group::"pilot" };

@id("self-service-productivity") @reason("Employees may install productivity apps.") @push("on_demand")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"productivity")
when { ["Full-time", "Part-time"].contains(principal.employment_type) };

@id("self-service-catalog") @reason("Full-time staff may install the self-service catalog.") @push("on_demand")
permit (principal, action == Loadout::Action::"assign", resource in Loadout::Bundle::"self-service")
when { principal.employment_type == "Full-time" };

@id("no-licensed-apps-for-contractors") @reason("Contractors get no paid licences.")
forbid (principal, action == Loadout::Action::"assign", resource)
when { principal.employment_type == "Contractor" && resource.licensed }
unless { resource in Loadout::Bundle::"security" };

@id("no-high-risk-on-byod") @reason("No high-risk apps on personal devices.")
forbid (principal, action == Loadout::Action::"assign", resource)
when { context.device.ownership == "Employee" && resource.risk == "high" };

@id("noncompliant-core-only") @reason("A non-compliant device gets core and security only.")
forbid (principal, action == Loadout::Action::"assign", resource)
when { context.device.enrolled && !context.device.compliant }
unless { resource in Loadout::Bundle::"core" || resource in Loadout::Bundle::"security" };

@id("no-high-risk-for-interns") @reason("Interns get no high-risk tools.")
forbid (principal, action == Loadout::Action::"assign", resource)
when { principal.employment_type == "Intern" && resource.risk == "high" };
"#,
    );
    for (department, bundle) in &bundles.departments {
        core.push_str(&format!(
            "\n@id(\"{bundle}-bundle\") @reason(\"{department} works in these tools.\") @push(\"auto\")\n\
             permit (principal, action == Loadout::Action::\"assign\", resource in Loadout::Bundle::\"{bundle}\")\n\
             when {{ principal.department == \"{department}\" }};\n"
        ));
    }
    for (title, bundle) in &bundles.titles {
        core.push_str(&format!(
            "\n@id(\"{bundle}\") @reason(\"{title}s use these tools.\") @push(\"on_demand\")\n\
             permit (principal, action == Loadout::Action::\"assign\", resource in Loadout::Bundle::\"{bundle}\")\n\
             when {{ principal.title == \"{title}\" }};\n"
        ));
    }
    for (department, region, bundle) in &bundles.regions {
        core.push_str(&format!(
            "\n@id(\"{bundle}\") @reason(\"{department} in {region} uses its regional tools.\") @push(\"auto\")\n\
             permit (principal, action == Loadout::Action::\"assign\", resource in Loadout::Bundle::\"{bundle}\")\n\
             when {{ principal.department == \"{department}\" && principal.region == \"{region}\" }};\n"
        ));
    }
    vec![("bench.cedar".to_owned(), core)]
}
