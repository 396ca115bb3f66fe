//! Fixed vocabularies: sports, tournaments, teams, venues, markets and
//! bookmakers.
//!
//! They never change with the seed, so a dictionary trained on one run's
//! messages fits every other run's. Names are invented or common
//! public facts (league and city names); ids are made up.

/// A bookmaker slug, as it appears in `odds` keys and `bookmakers` payloads.
pub(crate) const BOOKMAKERS: &[&str] = &[
    "pinnacle",
    "bet365",
    "stake",
    "betfair-ex",
    "williamhill",
    "unibet",
    "betway",
    "bwin",
    "888sport",
    "draftkings",
    "fanduel",
    "betmgm",
    "caesars",
    "pointsbet",
    "bovada",
    "betonline",
    "1xbet",
    "marathonbet",
    "betsson",
    "coolbet",
    "sportingbet",
    "ladbrokes",
    "coral",
    "paddypower",
    "skybet",
    "betvictor",
    "10bet",
    "betano",
    "superbet",
    "tipico",
    "interwetten",
    "leovegas",
];

/// Bookmakers that publish a stake limit with their prices.
pub(crate) fn publishes_limit(bookmaker_index: usize) -> bool {
    // pinnacle, betfair-ex, stake, 1xbet, marathonbet
    matches!(bookmaker_index, 0 | 2 | 3 | 16 | 17)
}

/// Bookmakers whose outcomes carry a betslip deep link.
pub(crate) fn has_betslip(bookmaker_index: usize) -> bool {
    bookmaker_index % 5 == 1
}

/// One market: OddsPapi-style numeric ids, plus the bookmaker's own slugs.
pub(crate) struct Market {
    /// `marketId`.
    pub(crate) id: u32,
    /// `outcomeId`s, in display order.
    pub(crate) outcomes: &'static [u32],
    /// The bookmaker-side market id.
    pub(crate) slug: &'static str,
    /// The bookmaker-side outcome ids, parallel to `outcomes`.
    pub(crate) outcome_slugs: &'static [&'static str],
    /// Whether the market has lines (`mainLine` true/false rather than null).
    pub(crate) lines: bool,
    /// Whether each outcome is per player (`playerId` ≠ 0).
    pub(crate) players: bool,
}

/// A tournament with its current season.
pub(crate) struct Tournament {
    /// `tournamentId`.
    pub(crate) id: u32,
    /// `tournamentName`.
    pub(crate) name: &'static str,
    /// `categoryName` (country or tour).
    pub(crate) category: &'static str,
    /// `seasonId`.
    pub(crate) season_id: u32,
    /// `seasonName`.
    pub(crate) season: &'static str,
    /// Teams or players as (name, home venue, city). A fixture is played at
    /// participant 1's venue (for tennis: the court listed with them).
    pub(crate) participants: &'static [(&'static str, &'static str, &'static str)],
}

/// A sport and everything the generator needs to make fixtures of it.
pub(crate) struct Sport {
    /// `sportId`.
    pub(crate) id: u32,
    /// `sportName`.
    pub(crate) name: &'static str,
    /// Relative weight when fixtures are created.
    pub(crate) weight: u32,
    /// Period names, in play order (the `scores` keys besides `result`).
    pub(crate) periods: &'static [&'static str],
    /// Length of a period in seconds (0: untimed, e.g. tennis sets).
    pub(crate) period_secs: u32,
    /// Whether the clock counts down (`remainingTime*` filled) or up.
    pub(crate) counts_down: bool,
    /// Highest plausible per-period score increment.
    pub(crate) max_score_step: u32,
    /// Markets offered on every fixture of this sport.
    pub(crate) markets: &'static [Market],
    /// Tournaments, each with its participants.
    pub(crate) tournaments: &'static [Tournament],
}

const H2H3: &[&str] = &["home", "draw", "away"];
const H2H2: &[&str] = &["home", "away"];
const OVER_UNDER: &[&str] = &["over", "under"];
const YES_NO: &[&str] = &["yes", "no"];
const PLAYER: &[&str] = &["anytime"];

/// All sports the simulator produces. Soccer comes first: the large odds
/// snapshots are soccer fixtures.
pub(crate) const SPORTS: &[Sport] = &[
    Sport {
        id: 10,
        name: "Soccer",
        weight: 50,
        periods: &["period1", "period2"],
        period_secs: 45 * 60,
        counts_down: false,
        max_score_step: 1,
        markets: &[
            Market {
                id: 101,
                outcomes: &[101, 102, 103],
                slug: "1x2",
                outcome_slugs: H2H3,
                lines: false,
                players: false,
            },
            Market {
                id: 1010,
                outcomes: &[1010, 1011],
                slug: "totals_2.5",
                outcome_slugs: OVER_UNDER,
                lines: true,
                players: false,
            },
            Market {
                id: 104,
                outcomes: &[104, 105],
                slug: "btts",
                outcome_slugs: YES_NO,
                lines: false,
                players: false,
            },
            Market {
                id: 1068,
                outcomes: &[1068, 1069],
                slug: "asian_handicap_-0.5",
                outcome_slugs: H2H2,
                lines: true,
                players: false,
            },
            Market {
                id: 11700,
                outcomes: &[11700],
                slug: "anytime_goalscorer",
                outcome_slugs: PLAYER,
                lines: false,
                players: true,
            },
        ],
        tournaments: &[
            Tournament {
                id: 17,
                name: "Premier League",
                category: "England",
                season_id: 118689,
                season: "Premier League 25/26",
                participants: &[
                    ("Arsenal", "Emirates Stadium", "London"),
                    ("Chelsea", "Stamford Bridge", "London"),
                    ("Liverpool", "Anfield", "Liverpool"),
                    ("Manchester City", "Etihad Stadium", "Manchester"),
                    ("Manchester United", "Old Trafford", "Manchester"),
                    ("Tottenham Hotspur", "Tottenham Hotspur Stadium", "London"),
                    ("Newcastle United", "St James' Park", "Newcastle"),
                    ("Aston Villa", "Villa Park", "Birmingham"),
                    (
                        "Brighton & Hove Albion",
                        "American Express Stadium",
                        "Brighton",
                    ),
                    ("Nottingham Forest", "City Ground", "Nottingham"),
                ],
            },
            Tournament {
                id: 8,
                name: "LaLiga",
                category: "Spain",
                season_id: 118691,
                season: "LaLiga 25/26",
                participants: &[
                    ("Real Madrid", "Estadio Santiago Bernabéu", "Madrid"),
                    ("FC Barcelona", "Estadi Olímpic Lluís Companys", "Barcelona"),
                    ("Atlético Madrid", "Riyadh Air Metropolitano", "Madrid"),
                    ("Athletic Club", "San Mamés", "Bilbao"),
                    ("Real Sociedad", "Reale Arena", "San Sebastián"),
                    ("Sevilla FC", "Ramón Sánchez-Pizjuán", "Sevilla"),
                    ("Villarreal CF", "Estadio de la Cerámica", "Vila-real"),
                    ("Real Betis", "Benito Villamarín", "Sevilla"),
                ],
            },
            Tournament {
                id: 35,
                name: "Bundesliga",
                category: "Germany",
                season_id: 118693,
                season: "Bundesliga 25/26",
                participants: &[
                    ("Bayern München", "Allianz Arena", "München"),
                    ("Borussia Dortmund", "Signal Iduna Park", "Dortmund"),
                    ("Bayer 04 Leverkusen", "BayArena", "Leverkusen"),
                    ("RB Leipzig", "Red Bull Arena", "Leipzig"),
                    (
                        "Eintracht Frankfurt",
                        "Deutsche Bank Park",
                        "Frankfurt am Main",
                    ),
                    ("VfB Stuttgart", "MHPArena", "Stuttgart"),
                    ("SC Freiburg", "Europa-Park Stadion", "Freiburg im Breisgau"),
                    ("1. FC Köln", "RheinEnergieStadion", "Köln"),
                ],
            },
            Tournament {
                id: 23,
                name: "Serie A",
                category: "Italy",
                season_id: 118695,
                season: "Serie A 25/26",
                participants: &[
                    ("Juventus", "Allianz Stadium", "Torino"),
                    ("Inter Milano", "Stadio Giuseppe Meazza", "Milano"),
                    ("AC Milan", "Stadio Giuseppe Meazza", "Milano"),
                    ("SSC Napoli", "Stadio Diego Armando Maradona", "Napoli"),
                    ("AS Roma", "Stadio Olimpico", "Roma"),
                    ("SS Lazio", "Stadio Olimpico", "Roma"),
                    ("Atalanta", "Gewiss Stadium", "Bergamo"),
                    ("ACF Fiorentina", "Stadio Artemio Franchi", "Firenze"),
                ],
            },
        ],
    },
    Sport {
        id: 11,
        name: "Basketball",
        weight: 20,
        periods: &["quarter1", "quarter2", "quarter3", "quarter4"],
        period_secs: 12 * 60,
        counts_down: true,
        max_score_step: 3,
        markets: &[
            Market {
                id: 111,
                outcomes: &[111, 112],
                slug: "moneyline",
                outcome_slugs: H2H2,
                lines: false,
                players: false,
            },
            Market {
                id: 11112,
                outcomes: &[11112, 11113],
                slug: "spread_-4.5",
                outcome_slugs: H2H2,
                lines: true,
                players: false,
            },
            Market {
                id: 11114,
                outcomes: &[11114, 11115],
                slug: "totals_221.5",
                outcome_slugs: OVER_UNDER,
                lines: true,
                players: false,
            },
            Market {
                id: 11130,
                outcomes: &[11130],
                slug: "player_points_over_19.5",
                outcome_slugs: PLAYER,
                lines: true,
                players: true,
            },
        ],
        tournaments: &[
            Tournament {
                id: 132,
                name: "NBA",
                category: "USA",
                season_id: 120145,
                season: "NBA 25/26",
                participants: &[
                    ("Boston Celtics", "TD Garden", "Boston"),
                    ("Denver Nuggets", "Ball Arena", "Denver"),
                    ("Golden State Warriors", "Chase Center", "San Francisco"),
                    ("Los Angeles Lakers", "Crypto.com Arena", "Los Angeles"),
                    ("Milwaukee Bucks", "Fiserv Forum", "Milwaukee"),
                    ("New York Knicks", "Madison Square Garden", "New York"),
                    ("Oklahoma City Thunder", "Paycom Center", "Oklahoma City"),
                    ("Cleveland Cavaliers", "Rocket Arena", "Cleveland"),
                ],
            },
            Tournament {
                id: 138,
                name: "EuroLeague",
                category: "International",
                season_id: 120151,
                season: "EuroLeague 25/26",
                participants: &[
                    ("Real Madrid Baloncesto", "WiZink Center", "Madrid"),
                    ("Fenerbahçe Beko", "Ülker Sports Arena", "İstanbul"),
                    ("Panathinaikos AKTOR", "OAKA Altion", "Athens"),
                    (
                        "Olympiacos Piraeus",
                        "Peace and Friendship Stadium",
                        "Piraeus",
                    ),
                    ("FC Barcelona Basquet", "Palau Blaugrana", "Barcelona"),
                    ("Žalgiris Kaunas", "Žalgirio Arena", "Kaunas"),
                ],
            },
        ],
    },
    Sport {
        id: 12,
        name: "Tennis",
        weight: 15,
        periods: &["set1", "set2", "set3"],
        period_secs: 0,
        counts_down: false,
        max_score_step: 1,
        markets: &[
            Market {
                id: 121,
                outcomes: &[121, 122],
                slug: "match_winner",
                outcome_slugs: H2H2,
                lines: false,
                players: false,
            },
            Market {
                id: 12102,
                outcomes: &[12102, 12103],
                slug: "set_handicap_-1.5",
                outcome_slugs: H2H2,
                lines: true,
                players: false,
            },
            Market {
                id: 12104,
                outcomes: &[12104, 12105],
                slug: "total_games_22.5",
                outcome_slugs: OVER_UNDER,
                lines: true,
                players: false,
            },
        ],
        tournaments: &[
            Tournament {
                id: 2555,
                name: "ATP Australian Open",
                category: "ATP",
                season_id: 121001,
                season: "ATP Australian Open 2026",
                participants: &[
                    ("Sinner, Jannik", "Rod Laver Arena", "Melbourne"),
                    ("Alcaraz, Carlos", "Rod Laver Arena", "Melbourne"),
                    ("Zverev, Alexander", "Margaret Court Arena", "Melbourne"),
                    ("Djokovic, Novak", "Rod Laver Arena", "Melbourne"),
                    ("Fritz, Taylor", "John Cain Arena", "Melbourne"),
                    ("Draper, Jack", "Margaret Court Arena", "Melbourne"),
                    ("de Minaur, Alex", "John Cain Arena", "Melbourne"),
                    ("Rune, Holger", "Kia Arena", "Melbourne"),
                ],
            },
            Tournament {
                id: 2557,
                name: "WTA Australian Open",
                category: "WTA",
                season_id: 121003,
                season: "WTA Australian Open 2026",
                participants: &[
                    ("Sabalenka, Aryna", "Rod Laver Arena", "Melbourne"),
                    ("Świątek, Iga", "Rod Laver Arena", "Melbourne"),
                    ("Gauff, Coco", "Margaret Court Arena", "Melbourne"),
                    ("Rybakina, Elena", "John Cain Arena", "Melbourne"),
                    ("Paolini, Jasmine", "Kia Arena", "Melbourne"),
                    ("Andreeva, Mirra", "Margaret Court Arena", "Melbourne"),
                    ("Pegula, Jessica", "John Cain Arena", "Melbourne"),
                    ("Muchová, Karolína", "Kia Arena", "Melbourne"),
                ],
            },
        ],
    },
    Sport {
        id: 15,
        name: "Ice Hockey",
        weight: 15,
        periods: &["period1", "period2", "period3"],
        period_secs: 20 * 60,
        counts_down: true,
        max_score_step: 1,
        markets: &[
            Market {
                id: 151,
                outcomes: &[151, 152, 153],
                slug: "regulation_1x2",
                outcome_slugs: H2H3,
                lines: false,
                players: false,
            },
            Market {
                id: 1511,
                outcomes: &[1511, 1512],
                slug: "puck_line_-1.5",
                outcome_slugs: H2H2,
                lines: true,
                players: false,
            },
            Market {
                id: 1513,
                outcomes: &[1513, 1514],
                slug: "totals_5.5",
                outcome_slugs: OVER_UNDER,
                lines: true,
                players: false,
            },
        ],
        tournaments: &[Tournament {
            id: 234,
            name: "NHL",
            category: "USA",
            season_id: 119877,
            season: "NHL 25/26",
            participants: &[
                ("Colorado Avalanche", "Ball Arena", "Denver"),
                ("Edmonton Oilers", "Rogers Place", "Edmonton"),
                ("Florida Panthers", "Amerant Bank Arena", "Sunrise"),
                ("Montréal Canadiens", "Centre Bell", "Montréal"),
                ("New York Rangers", "Madison Square Garden", "New York"),
                ("Toronto Maple Leafs", "Scotiabank Arena", "Toronto"),
                ("Vegas Golden Knights", "T-Mobile Arena", "Las Vegas"),
                ("Winnipeg Jets", "Canada Life Centre", "Winnipeg"),
            ],
        }],
    },
];
