//! Deterministic synthetic data for `retain seed` and `retain demo`: a product catalogue
//! and customers with orders, interactions and feedback shaped like a real shop's —
//! heavy-tailed spend, many one-off buyers and a few heavy ones, a dormant fifth,
//! seasonal peaks, skewed product popularity.
//!
//! Every customer is drawn from its own ChaCha8 stream keyed by `(seed, index)`, so the
//! data depends only on the options, never on chunking or threads, and the next chunk
//! can be generated on a blocking thread while the current one is written.
//! All times are anchored at the start of `as_of`'s UTC day, so reruns on the same day
//! produce identical rows.

use std::ops::Range;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc};
use indicatif::ProgressBar;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Exp1, StandardNormal};
use retain_schema::{
    Channel, FeedbackCategory, FeedbackStatus, InteractionKind, OrderStatus, customer,
    customer_tag, feedback, interaction, order, order_item, product,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    IntoActiveModel, Iterable, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
    TransactionTrait,
};

use crate::config::FeedbackSettings;

/// What to generate.
pub struct SeedOptions {
    pub customers: u64,
    pub seed: u64,
    /// ISO 4217 code of every generated price and order.
    pub currency: String,
    /// The "now" of the generated history; nothing happens after it.
    pub as_of: DateTime<Utc>,
}

/// Rows written per table. `products` counts only products created by this run: an
/// existing catalogue is reused.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub customers: u64,
    pub products: u64,
    pub orders: u64,
    pub order_items: u64,
    pub interactions: u64,
    pub feedback: u64,
}

/// Customers generated and written per transaction. Every commit rewrites the pages it
/// touched in the randomly-ordered indexes (times, names, amounts), so on SQLite fewer,
/// larger transactions are much faster: 100k customers take ~50 s in chunks of 10,000
/// against ~2 min in chunks of 2,000. Two chunks in flight (one generating, one
/// writing) still take only tens of MB.
const CHUNK_CUSTOMERS: u64 = 10_000;
/// SQLite's bound-parameter limit per statement; PostgreSQL allows more.
const MAX_PARAMS: usize = 32_766;
/// SQLite page cache while a chunk is written, in KiB.
const SQLITE_CACHE_KIB: u32 = 64 * 1024;

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// Signups spread over this many days before `as_of`.
const SIGNUP_SPAN_DAYS: i64 = 3 * 365;
/// A customer without an order for this long is dormant.
const DORMANT_AFTER_DAYS: i64 = 183;
/// Share of customers old enough to be dormant who are; with the signup spread this
/// makes about 22% of all customers dormant.
const DORMANT_SHARE: f64 = 0.33;
/// Tail index of the orders-per-customer distribution: ~55% one-off buyers, ~3% with
/// 20 or more orders, about 4 orders per customer on average.
const ORDERS_PARETO_SHAPE: f64 = 1.05;
const MAX_ORDERS: f64 = 150.0;
/// Active customers' last order falls in this recent window.
const ACTIVE_WINDOW_DAYS: i64 = 175;
/// Active customers' interactions fall in this recent window.
const RECENT_DAYS: i64 = 90;
const CANCEL_RATE: f64 = 0.03;
const REFUND_RATE: f64 = 0.02;
const FEEDBACK_RATE: f64 = 0.05;
const PRODUCTS_PER_CATEGORY: usize = 50;
/// Exponent of the Zipf-like product popularity.
const POPULARITY_SKEW: f64 = 0.8;

/// Random streams under one seed: one per purpose, then one per customer.
const CATALOGUE_STREAM: u64 = 0;
const POPULARITY_STREAM: u64 = 1;
const FIRST_CUSTOMER_STREAM: u64 = 2;

/// A product category, which is also the customer interest tag of the same name.
struct Category {
    tag: &'static str,
    /// How often customers pick this interest.
    interest: f64,
    median_price_minor: f64,
    adjectives: [&'static str; 8],
    nouns: [&'static str; 8],
}

#[rustfmt::skip]
const CATEGORIES: [Category; 8] = [
    Category {
        tag: "mother-and-baby", interest: 0.9, median_price_minor: 12_900.0,
        adjectives: [
            "Gentle", "Organic", "Soft", "Newborn", "Sensitive", "Cozy", "Travel", "Classic",
        ],
        nouns: [
            "Diapers", "Baby Wipes", "Feeding Bottle", "Stroller", "Baby Carrier",
            "Teething Ring", "Baby Lotion", "Crib Sheet",
        ],
    },
    Category {
        tag: "fitness", interest: 1.2, median_price_minor: 19_900.0,
        adjectives: [
            "Pro", "Lightweight", "Adjustable", "Performance", "Compact", "Grip", "Training",
            "Elite",
        ],
        nouns: [
            "Yoga Mat", "Dumbbell Set", "Resistance Band", "Protein Powder", "Jump Rope",
            "Foam Roller", "Gym Bag", "Running Shoes",
        ],
    },
    Category {
        tag: "office", interest: 1.0, median_price_minor: 4_900.0,
        adjectives: [
            "Classic", "Minimalist", "Ergonomic", "Recycled", "Premium", "Compact", "Executive",
            "Daily",
        ],
        nouns: [
            "Notebook", "Gel Pen Set", "Desk Organizer", "Stapler", "Monitor Stand",
            "Desk Lamp", "Sticky Notes", "File Folder",
        ],
    },
    Category {
        tag: "beauty", interest: 1.3, median_price_minor: 15_900.0,
        adjectives: [
            "Hydrating", "Radiant", "Gentle", "Brightening", "Repair", "Matte", "Nourishing",
            "Daily",
        ],
        nouns: [
            "Face Serum", "Moisturizer", "Lipstick", "Sheet Mask", "Cleanser", "Sunscreen",
            "Eye Cream", "Toner",
        ],
    },
    Category {
        tag: "outdoors", interest: 0.8, median_price_minor: 29_900.0,
        adjectives: [
            "Ultralight", "Alpine", "Waterproof", "Trail", "Explorer", "Compact", "All-Season",
            "Rugged",
        ],
        nouns: [
            "Tent", "Hiking Backpack", "Sleeping Bag", "Trekking Poles", "Camping Stove",
            "Headlamp", "Rain Jacket", "Water Bottle",
        ],
    },
    Category {
        tag: "pets", interest: 0.9, median_price_minor: 8_900.0,
        adjectives: [
            "Grain-Free", "Premium", "Cozy", "Durable", "Natural", "Indoor", "Senior",
            "Healthy",
        ],
        nouns: [
            "Cat Food", "Dog Food", "Pet Bed", "Chew Toy", "Cat Litter", "Leash",
            "Scratching Post", "Grooming Brush",
        ],
    },
    Category {
        tag: "gaming", interest: 0.8, median_price_minor: 39_900.0,
        adjectives: [
            "RGB", "Wireless", "Pro", "Tournament", "Silent", "Ultra", "Compact", "Elite",
        ],
        nouns: [
            "Gaming Mouse", "Mechanical Keyboard", "Headset", "Controller", "Mouse Pad",
            "Gaming Chair", "Capture Card", "Webcam",
        ],
    },
    Category {
        tag: "home", interest: 1.4, median_price_minor: 9_900.0,
        adjectives: [
            "Nordic", "Cotton", "Modern", "Handmade", "Cozy", "Minimal", "Classic", "Bamboo",
        ],
        nouns: [
            "Throw Pillow", "Bath Towel", "Storage Box", "Scented Candle", "Bedding Set",
            "Vacuum Flask", "Kitchen Knife", "Table Lamp",
        ],
    },
];

const FIRST_NAMES: [&str; 30] = [
    "Wei", "Fang", "Na", "Min", "Jing", "Li", "Qiang", "Lei", "Jun", "Yang", "Yan", "Jie", "Tao",
    "Ming", "Chao", "Xiu", "Hui", "Xin", "Yu", "Hao", "Ting", "Lin", "Bo", "Dan", "Ping", "Kai",
    "Rui", "Yi", "Zhen", "Lan",
];
const LAST_NAMES: [&str; 20] = [
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma",
    "Zhu", "Hu", "Guo", "He", "Lin", "Gao", "Luo",
];
const EMAIL_DOMAINS: [&str; 3] = ["example.com", "example.net", "example.org"];
/// Multiplier making `id ↦ id × stride mod 10⁸` a bijection (it is coprime to 10), so
/// generated phone numbers never collide.
const PHONE_STRIDE: u64 = 7_919_003;

const ORDER_CHANNELS: [(Channel, f64); 5] = [
    (Channel::App, 35.0),
    (Channel::Web, 25.0),
    (Channel::MiniProgram, 20.0),
    (Channel::Store, 12.0),
    (Channel::Social, 8.0),
];
const INTERACTION_KINDS: [(InteractionKind, f64); 8] = [
    (InteractionKind::View, 30.0),
    (InteractionKind::Click, 15.0),
    (InteractionKind::Login, 15.0),
    (InteractionKind::Search, 12.0),
    (InteractionKind::AddToCart, 10.0),
    (InteractionKind::MessageOpen, 8.0),
    (InteractionKind::CheckIn, 6.0),
    (InteractionKind::Share, 4.0),
];
const FEEDBACK_CATEGORIES: [(FeedbackCategory, f64); 6] = [
    (FeedbackCategory::Review, 30.0),
    (FeedbackCategory::Quality, 20.0),
    (FeedbackCategory::Delivery, 18.0),
    (FeedbackCategory::Service, 14.0),
    (FeedbackCategory::Suggestion, 10.0),
    (FeedbackCategory::Payment, 8.0),
];
/// Relative order volume per month, January first: Singles' Day and the year-end
/// holidays, and the mid-year (618) sales.
const MONTH_WEIGHTS: [f64; 12] = [
    0.85, 0.75, 0.9, 0.9, 1.0, 1.5, 1.1, 0.9, 0.95, 1.05, 1.8, 1.5,
];
const PEAK_MONTH_WEIGHT: f64 = 1.8;

/// Writes `options.customers` customers (and a catalogue if there is none) after any
/// rows already present, and reports what it wrote.
pub async fn seed(
    db: &DatabaseConnection,
    options: &SeedOptions,
    progress: &ProgressBar,
) -> anyhow::Result<SeedReport> {
    seed_in_chunks(db, options, progress, CHUNK_CUSTOMERS).await
}

async fn seed_in_chunks(
    db: &DatabaseConnection,
    options: &SeedOptions,
    progress: &ProgressBar,
    chunk_customers: u64,
) -> anyhow::Result<SeedReport> {
    let anchor = start_of_day(options.as_of);
    let mut report = SeedReport::default();

    if product::Entity::find().count(db).await? == 0 {
        let first_id = next_id::<product::Entity>(db, product::Column::Id).await?;
        let products = catalogue_products(
            &mut stream(options.seed, CATALOGUE_STREAM),
            first_id,
            &options.currency,
            anchor - (SIGNUP_SPAN_DAYS + 30) * DAY,
        );
        report.products = products.len() as u64;
        let txn = db.begin().await?;
        insert_all::<product::Entity>(&txn, products).await?;
        txn.commit()
            .await
            .context("writing the product catalogue")?;
        tracing::info!(products = report.products, "created a product catalogue");
    }
    let catalogue = Catalogue::load(db, &options.currency, options.seed).await?;

    let ids = NextIds {
        customer: next_id::<customer::Entity>(db, customer::Column::Id).await?,
        order: next_id::<order::Entity>(db, order::Column::Id).await?,
        order_item: next_id::<order_item::Entity>(db, order_item::Column::Id).await?,
        interaction: next_id::<interaction::Entity>(db, interaction::Column::Id).await?,
        feedback: next_id::<feedback::Entity>(db, feedback::Column::Id).await?,
    };
    let generator = Arc::new(Generator {
        seed: options.seed,
        anchor,
        currency: options.currency.clone(),
        catalogue,
    });
    let total = options.customers;
    let generate = |start: u64, mut ids: NextIds| {
        let generator = Arc::clone(&generator);
        let end = total.min(start + chunk_customers);
        tokio::task::spawn_blocking(move || (generator.chunk(start..end, &mut ids), ids))
    };

    progress.set_length(total);
    let mut pending = (total > 0).then(|| generate(0, ids));
    let mut done = 0;
    while let Some(job) = pending.take() {
        let (chunk, ids) = job.await.context("generating customers")?;
        let written = chunk.customers.len() as u64;
        done += written;
        // Generate the next chunk while this one is written.
        pending = (done < total).then(|| generate(done, ids));
        report.customers += written;
        report.orders += chunk.orders.len() as u64;
        report.order_items += chunk.order_items.len() as u64;
        report.interactions += chunk.interactions.len() as u64;
        report.feedback += chunk.feedback.len() as u64;
        write_chunk(db, chunk).await.context("writing customers")?;
        progress.inc(written);
    }

    let tables = [
        "customers",
        "customer_tags",
        "products",
        "orders",
        "order_items",
        "interactions",
        "feedback",
    ];
    // Rows were inserted with explicit ids, which PostgreSQL's sequences do not see.
    if db.get_database_backend() == DbBackend::Postgres {
        for table in tables.into_iter().filter(|table| *table != "customer_tags") {
            db.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            ))
            .await
            .with_context(|| format!("resetting the id sequence of {table}"))?;
        }
    }
    crate::database::vacuum_analyze(db, &tables)
        .await
        .context("vacuuming and refreshing planner statistics")?;
    Ok(report)
}

/// The id after the largest one in `E`'s table.
async fn next_id<E: EntityTrait>(db: &DatabaseConnection, id: E::Column) -> Result<i64, DbErr> {
    let max = E::find()
        .select_only()
        .column_as(id.max(), "max")
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?;
    Ok(max.flatten().unwrap_or(0) + 1)
}

async fn write_chunk(db: &DatabaseConnection, chunk: Chunk) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    // Rows land all over the time, name and amount indexes, so a chunk dirties more
    // pages than SQLite's default 2 MiB cache holds and they would spill to the WAL
    // mid-transaction. A bigger cache keeps them until the commit writes each once;
    // the pooled connection gets its own setting back.
    let cache_size = match txn.get_database_backend() {
        DbBackend::Sqlite => {
            let pragma = Statement::from_string(DbBackend::Sqlite, "PRAGMA cache_size");
            let previous = txn.query_one_raw(pragma).await?;
            let previous = previous
                .map(|row| row.try_get_by_index::<i64>(0))
                .transpose()?;
            txn.execute_unprepared(&format!("PRAGMA cache_size = -{SQLITE_CACHE_KIB}"))
                .await?;
            previous
        }
        _ => None,
    };
    insert_all::<customer::Entity>(&txn, chunk.customers).await?;
    insert_all::<customer_tag::Entity>(&txn, chunk.tags).await?;
    insert_all::<order::Entity>(&txn, chunk.orders).await?;
    insert_all::<order_item::Entity>(&txn, chunk.order_items).await?;
    insert_all::<interaction::Entity>(&txn, chunk.interactions).await?;
    insert_all::<feedback::Entity>(&txn, chunk.feedback).await?;
    if let Some(previous) = cache_size {
        txn.execute_unprepared(&format!("PRAGMA cache_size = {previous}"))
            .await?;
    }
    txn.commit().await
}

/// Inserts `rows` with as many rows per statement as the parameter limit allows.
async fn insert_all<E>(db: &impl ConnectionTrait, rows: Vec<E::Model>) -> Result<(), DbErr>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel>,
{
    let per_statement = MAX_PARAMS / E::Column::iter().count();
    let mut rows = rows.into_iter();
    for size in batch_sizes(rows.len(), per_statement) {
        let batch = rows
            .by_ref()
            .take(size)
            .map(IntoActiveModel::into_active_model);
        E::insert_many(batch).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Statement sizes for `rows` rows: full statements, then the rest in powers of two.
/// sqlx prepares and caches every distinct statement, so a few shapes per table are
/// reused across chunks instead of a new multi-megabyte one per chunk's remainder.
fn batch_sizes(rows: usize, per_statement: usize) -> impl Iterator<Item = usize> {
    let rest = rows % per_statement;
    std::iter::repeat_n(per_statement, rows / per_statement).chain(
        (0..usize::BITS)
            .rev()
            .map(|bit| 1 << bit)
            .filter(move |size| rest & size != 0),
    )
}

/// Midnight UTC of `as_of`'s day, in Unix seconds.
fn start_of_day(as_of: DateTime<Utc>) -> i64 {
    as_of
        .date_naive()
        .and_time(NaiveTime::MIN)
        .and_utc()
        .timestamp()
}

fn at(unix_seconds: i64) -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + TimeDelta::seconds(unix_seconds)
}

/// The random stream `stream` of `seed`: ChaCha streams under one key are independent
/// and portable, so each customer's data depends on nothing but `(seed, index)`.
fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// One of `choices`, with probability proportional to its weight.
fn pick<T: Copy>(rng: &mut impl Rng, choices: &[(T, f64)]) -> T {
    let total: f64 = choices.iter().map(|(_, weight)| weight).sum();
    let mut x = rng.random::<f64>() * total;
    for &(choice, weight) in choices {
        if x < weight {
            return choice;
        }
        x -= weight;
    }
    choices[choices.len() - 1].0
}

/// A standard normal sample.
fn normal(rng: &mut impl Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// An exponential sample with mean 1.
fn exp1(rng: &mut impl Rng) -> f64 {
    Exp1.sample(rng)
}

/// A time drawn by `propose`, reweighted towards the shopping peaks by rejection
/// sampling against the month weights (giving up after a few tries keeps it bounded).
fn seasonal<R: Rng>(rng: &mut R, mut propose: impl FnMut(&mut R) -> i64) -> i64 {
    let mut t = propose(rng);
    for _ in 0..16 {
        let weight = MONTH_WEIGHTS[at(t).month0() as usize];
        if rng.random::<f64>() * PEAK_MONTH_WEIGHT < weight {
            break;
        }
        t = propose(rng);
    }
    t
}

/// The generated catalogue: `PRODUCTS_PER_CATEGORY` products in each category, priced
/// log-normally around the category's median.
fn catalogue_products(
    rng: &mut impl Rng,
    first_id: i64,
    currency: &str,
    created_at: i64,
) -> Vec<product::Model> {
    let mut products = Vec::with_capacity(CATEGORIES.len() * PRODUCTS_PER_CATEGORY);
    for category in &CATEGORIES {
        let mut names: Vec<String> = category
            .adjectives
            .iter()
            .flat_map(|adjective| {
                category
                    .nouns
                    .iter()
                    .map(move |noun| format!("{adjective} {noun}"))
            })
            .collect();
        names.shuffle(rng);
        for name in names.into_iter().take(PRODUCTS_PER_CATEGORY) {
            let id = first_id + products.len() as i64;
            let price = category.median_price_minor * (0.8 * normal(rng)).exp();
            // Whole units less ten cents, like shop prices (129.90).
            let price_minor = (price / 100.0).round().max(1.0) as i64 * 100 - 10;
            products.push(product::Model {
                id,
                sku: format!("SKU-{id:05}"),
                name,
                category: category.tag.to_owned(),
                price_minor,
                currency: currency.to_owned(),
                active: true,
                created_at: at(created_at),
                updated_at: at(created_at),
            });
        }
    }
    products
}

/// What generation needs to know about a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProductRef {
    id: i64,
    price_minor: i64,
}

/// The orderable products with a Zipf-like popularity, overall and per interest tag.
struct Catalogue {
    products: Vec<ProductRef>,
    popularity: WeightedIndex<f64>,
    /// For each of `CATEGORIES`: indices into `products` and their popularity; `None`
    /// when the catalogue has nothing in that category.
    by_tag: Vec<Option<(Vec<usize>, WeightedIndex<f64>)>>,
}

impl Catalogue {
    /// The active products priced in `currency`.
    async fn load(db: &DatabaseConnection, currency: &str, seed: u64) -> anyhow::Result<Self> {
        let products: Vec<(i64, i64, String)> = product::Entity::find()
            .select_only()
            .columns([
                product::Column::Id,
                product::Column::PriceMinor,
                product::Column::Category,
            ])
            .filter(product::Column::Active.eq(true))
            .filter(product::Column::Currency.eq(currency))
            .order_by_asc(product::Column::Id)
            .into_tuple()
            .all(db)
            .await?;
        anyhow::ensure!(
            !products.is_empty(),
            "no active products priced in {currency} to build orders from"
        );
        Self::new(products, seed)
    }

    /// Popularity ranks are a seeded shuffle, so best sellers spread over categories.
    fn new(products: Vec<(i64, i64, String)>, seed: u64) -> anyhow::Result<Self> {
        let mut ranks: Vec<usize> = (0..products.len()).collect();
        ranks.shuffle(&mut stream(seed, POPULARITY_STREAM));
        let weights: Vec<f64> = ranks
            .iter()
            .map(|&rank| (rank as f64 + 1.0).powf(-POPULARITY_SKEW))
            .collect();
        let by_tag = CATEGORIES
            .iter()
            .map(|category| {
                let members: Vec<usize> = (0..products.len())
                    .filter(|&i| products[i].2 == category.tag)
                    .collect();
                if members.is_empty() {
                    return Ok(None);
                }
                let popularity = WeightedIndex::new(members.iter().map(|&i| weights[i]))?;
                Ok(Some((members, popularity)))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            popularity: WeightedIndex::new(&weights)?,
            products: products
                .into_iter()
                .map(|(id, price_minor, _)| ProductRef { id, price_minor })
                .collect(),
            by_tag,
        })
    }

    /// A product for a customer with interest `tags`: usually from one of their
    /// interests, otherwise a best seller.
    fn pick(&self, rng: &mut impl Rng, tags: &[usize]) -> ProductRef {
        if !tags.is_empty() && rng.random_bool(0.6) {
            let tag = tags[rng.random_range(0..tags.len())];
            if let Some((members, popularity)) = &self.by_tag[tag] {
                return self.products[members[popularity.sample(rng)]];
            }
        }
        self.products[self.popularity.sample(rng)]
    }
}

/// The id of the next row of each table with a generated id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NextIds {
    customer: i64,
    order: i64,
    order_item: i64,
    interaction: i64,
    feedback: i64,
}

fn take_id(next: &mut i64) -> i64 {
    *next += 1;
    *next - 1
}

/// The rows of a run of customers, in insertion order.
#[derive(Debug, Default, PartialEq, Eq)]
struct Chunk {
    customers: Vec<customer::Model>,
    tags: Vec<customer_tag::Model>,
    orders: Vec<order::Model>,
    order_items: Vec<order_item::Model>,
    interactions: Vec<interaction::Model>,
    feedback: Vec<feedback::Model>,
}

/// An order's status and the time of each step it reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timeline {
    status: OrderStatus,
    paid: Option<i64>,
    shipped: Option<i64>,
    delivered: Option<i64>,
    cancelled: Option<i64>,
    refunded: Option<i64>,
    updated: i64,
}

/// Generates customers; pure apart from its inputs, so it runs on any thread.
struct Generator {
    seed: u64,
    /// Unix seconds; nothing happens after it.
    anchor: i64,
    currency: String,
    catalogue: Catalogue,
}

impl Generator {
    /// Customers `indices` of the run, taking ids from `ids`.
    fn chunk(&self, indices: Range<u64>, ids: &mut NextIds) -> Chunk {
        let mut chunk = Chunk::default();
        for index in indices {
            let mut rng = stream(self.seed, FIRST_CUSTOMER_STREAM + index);
            self.customer(&mut rng, ids, &mut chunk);
        }
        chunk
    }

    fn customer<R: Rng>(&self, rng: &mut R, ids: &mut NextIds, out: &mut Chunk) {
        let id = take_id(&mut ids.customer);
        let anchor = self.anchor;
        // Recent signups are more common: the shop has been growing.
        let signup = seasonal(rng, |rng| {
            let days_ago = (SIGNUP_SPAN_DAYS as f64 * rng.random::<f64>().powf(1.6)) as i64;
            anchor - days_ago * DAY - rng.random_range(HOUR..DAY)
        });
        let dormant =
            anchor - signup > (DORMANT_AFTER_DAYS + 14) * DAY && rng.random_bool(DORMANT_SHARE);

        // The last order decides activity: dormant customers stopped buying half a year
        // ago or more; active ones bought within the last half year, repeat buyers
        // mostly within their own rhythm (a few are slipping away).
        let active_until = if dormant {
            anchor - DORMANT_AFTER_DAYS * DAY
        } else {
            anchor
        };
        let order_count = self.order_count(rng, active_until - signup);
        let last_order = if dormant {
            seasonal(rng, |rng| rng.random_range(signup..active_until))
        } else {
            let mut window = (anchor - signup).min(ACTIVE_WINDOW_DAYS * DAY);
            if order_count > 1 && rng.random_bool(0.9) {
                let rhythm = (anchor - signup) / order_count as i64;
                window = window.min((2 * rhythm).max(DAY));
            }
            seasonal(rng, |rng| anchor - rng.random_range(MINUTE..window))
        };
        let mut order_times = vec![last_order];
        if order_count > 1 {
            // Many buy on signup day; the first order never precedes the signup.
            let first = signup + ((exp1(rng) * 3.0 * DAY as f64) as i64).min(last_order - signup);
            order_times.push(first);
            let between = first..last_order.max(first + 1);
            order_times.extend(
                (2..order_count).map(|_| seasonal(rng, |rng| rng.random_range(between.clone()))),
            );
            order_times.sort_unstable();
        }

        let tags = self.interests(rng);
        let preferred_channel = pick(rng, &ORDER_CHANNELS);
        let first_name = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
        let last_name = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
        let email = rng.random_bool(0.9).then(|| {
            let domain = EMAIL_DOMAINS[rng.random_range(0..EMAIL_DOMAINS.len())];
            format!(
                "{}.{}{id}@{domain}",
                first_name.to_lowercase(),
                last_name.to_lowercase()
            )
        });
        let phone = rng.random_bool(0.85).then(|| {
            let number = (id as u64 % 100_000_000 * PHONE_STRIDE + self.seed) % 100_000_000;
            let second = rng.random_range(0..10);
            format!(
                "+86 13{second} {:04} {:04}",
                number / 10_000,
                number % 10_000
            )
        });
        let birthday = if rng.random_bool(0.88) {
            let age = (34.0 + 9.0 * normal(rng)).clamp(18.0, 75.0) as i32;
            let day = rng.random_range(1..=365);
            NaiveDate::from_yo_opt(at(self.anchor).year() - age, day)
        } else {
            None
        };
        let consent_email = rng.random_bool(0.62);
        let consent_sms = rng.random_bool(0.45);
        let consent_app_push = rng.random_bool(if preferred_channel == Channel::App {
            0.6
        } else {
            0.3
        });
        let consent_social = rng.random_bool(0.25);
        out.customers.push(customer::Model {
            id,
            external_id: format!("cus-{id:08}"),
            name: format!("{last_name} {first_name}"),
            email,
            phone,
            birthday,
            signup_at: at(signup),
            consent_email,
            consent_sms,
            consent_app_push,
            consent_social,
            erased_at: None,
            created_at: at(signup),
            updated_at: at(signup),
        });
        out.tags.extend(tags.iter().map(|&tag| customer_tag::Model {
            customer_id: id,
            tag: CATEGORIES[tag].tag.to_owned(),
        }));

        let first_order = out.orders.len();
        for placed in order_times {
            self.order(rng, id, placed, preferred_channel, &tags, ids, out);
        }

        let message_channels: Vec<Channel> = [
            (consent_email, Channel::Email),
            (consent_sms, Channel::Sms),
            (consent_app_push, Channel::AppPush),
        ]
        .into_iter()
        .filter_map(|(consented, channel)| consented.then_some(channel))
        .collect();
        let (count, window) = if dormant {
            // What little engagement dormant customers had ended with their buying.
            let count = 1 + (exp1(rng) * 3.0) as usize;
            (
                count,
                (last_order - 60 * DAY).max(signup)..last_order + 30 * DAY,
            )
        } else {
            let lambda = 6.0 + 2.5 * order_count.min(40) as f64;
            let count = (lambda * (0.5 * normal(rng)).exp()).round() as usize;
            (
                count,
                (self.anchor - RECENT_DAYS * DAY).max(signup)..self.anchor,
            )
        };
        self.interactions(
            rng,
            id,
            count,
            window,
            preferred_channel,
            &message_channels,
            &tags,
            ids,
            out,
        );

        if rng.random_bool(FEEDBACK_RATE) {
            let orders = &out.orders[first_order..];
            let spent: i64 = orders
                .iter()
                .filter(|o| !matches!(o.status, OrderStatus::Cancelled | OrderStatus::Refunded))
                .map(|o| o.total_minor)
                .sum();
            let count = if rng.random_bool(0.1) { 2 } else { 1 };
            let mut feedback: Vec<_> = (0..count)
                .map(|_| {
                    let order = &orders[rng.random_range(0..orders.len())];
                    self.feedback(rng, id, order, spent, &mut ids.feedback)
                })
                .collect();
            link_repeat_complaints(&mut feedback);
            out.feedback.extend(feedback);
        }
    }

    /// A Pareto-distributed order count, at most one order per three days of `history`.
    fn order_count(&self, rng: &mut impl Rng, history: i64) -> usize {
        let u = 1.0 - rng.random::<f64>();
        let count = u.powf(-1.0 / ORDERS_PARETO_SHAPE).min(MAX_ORDERS) as usize;
        count.clamp(1, 1 + (history / (3 * DAY)) as usize)
    }

    /// Zero to three distinct interests (weighted sampling without replacement:
    /// the largest `u^(1/weight)` keys win).
    fn interests(&self, rng: &mut impl Rng) -> Vec<usize> {
        let count = pick(rng, &[(0, 20.0), (1, 35.0), (2, 30.0), (3, 15.0)]);
        let mut keyed: Vec<(f64, usize)> = CATEGORIES
            .iter()
            .enumerate()
            .map(|(i, category)| (rng.random::<f64>().powf(1.0 / category.interest), i))
            .collect();
        keyed.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
        keyed.into_iter().take(count).map(|(_, i)| i).collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn order(
        &self,
        rng: &mut impl Rng,
        customer_id: i64,
        placed: i64,
        preferred_channel: Channel,
        tags: &[usize],
        ids: &mut NextIds,
        out: &mut Chunk,
    ) {
        let id = take_id(&mut ids.order);
        let channel = if rng.random_bool(0.7) {
            preferred_channel
        } else {
            pick(rng, &ORDER_CHANNELS)
        };
        let lines = pick(rng, &[(1, 15.0), (2, 30.0), (3, 30.0), (4, 25.0)]);
        let first_line = out.order_items.len();
        for _ in 0..lines {
            let product = self.catalogue.pick(rng, tags);
            // A product appears once per order; a repeated draw just shortens the basket.
            if out.order_items[first_line..]
                .iter()
                .any(|item| item.product_id == product.id)
            {
                continue;
            }
            let quantity = pick(rng, &[(1, 80.0), (2, 15.0), (3, 5.0)]);
            out.order_items.push(order_item::Model {
                id: take_id(&mut ids.order_item),
                order_id: id,
                product_id: product.id,
                quantity,
                unit_price_minor: product.price_minor,
                line_total_minor: product.price_minor * i64::from(quantity),
            });
        }
        let subtotal: i64 = out.order_items[first_line..]
            .iter()
            .map(|item| item.line_total_minor)
            .sum();
        // A quarter of orders used a coupon worth 5–15%, in whole currency units.
        let discount = if rng.random_bool(0.25) {
            subtotal * rng.random_range(5..=15) / 100 / 100 * 100
        } else {
            0
        };
        let timeline = order_timeline(rng, placed, self.anchor);
        out.orders.push(order::Model {
            id,
            order_number: format!("SO-{id:010}"),
            customer_id,
            status: timeline.status,
            channel,
            currency: self.currency.clone(),
            subtotal_minor: subtotal,
            discount_minor: discount,
            total_minor: subtotal - discount,
            placed_at: at(placed),
            paid_at: timeline.paid.map(at),
            shipped_at: timeline.shipped.map(at),
            delivered_at: timeline.delivered.map(at),
            cancelled_at: timeline.cancelled.map(at),
            refunded_at: timeline.refunded.map(at),
            updated_at: at(timeline.updated),
            idempotency_key: None,
            refunded_minor: match timeline.status {
                OrderStatus::Refunded => subtotal - discount,
                _ => 0,
            },
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn interactions(
        &self,
        rng: &mut impl Rng,
        customer_id: i64,
        count: usize,
        window: Range<i64>,
        preferred_channel: Channel,
        message_channels: &[Channel],
        tags: &[usize],
        ids: &mut NextIds,
        out: &mut Chunk,
    ) {
        let mut times: Vec<i64> = (0..count)
            .map(|_| rng.random_range(window.clone()))
            .collect();
        times.sort_unstable();
        for occurred in times {
            let mut kind = pick(rng, &INTERACTION_KINDS);
            // A message is only opened where the customer agreed to receive one.
            if kind == InteractionKind::MessageOpen && message_channels.is_empty() {
                kind = InteractionKind::View;
            }
            let channel = match kind {
                InteractionKind::MessageOpen => {
                    message_channels[rng.random_range(0..message_channels.len())]
                }
                InteractionKind::Share => Channel::Social,
                _ if matches!(
                    preferred_channel,
                    Channel::Web | Channel::App | Channel::MiniProgram
                ) && rng.random_bool(0.8) =>
                {
                    preferred_channel
                }
                _ => pick(
                    rng,
                    &[
                        (Channel::App, 50.0),
                        (Channel::Web, 30.0),
                        (Channel::MiniProgram, 20.0),
                    ],
                ),
            };
            let product_id = matches!(
                kind,
                InteractionKind::View
                    | InteractionKind::Click
                    | InteractionKind::AddToCart
                    | InteractionKind::Share
            )
            .then(|| self.catalogue.pick(rng, tags).id);
            out.interactions.push(interaction::Model {
                id: take_id(&mut ids.interaction),
                customer_id,
                kind,
                channel,
                product_id,
                campaign_id: None,
                occurred_at: at(occurred),
            });
        }
    }

    /// Feedback on `order`; scores rise with the customer's spend and fall for
    /// complaints.
    fn feedback(
        &self,
        rng: &mut impl Rng,
        customer_id: i64,
        order: &order::Model,
        spent_minor: i64,
        next_id: &mut i64,
    ) -> feedback::Model {
        let category = pick(rng, &FEEDBACK_CATEGORIES);
        let complaint = category.is_complaint();
        let about_order = match category {
            FeedbackCategory::Service | FeedbackCategory::Suggestion => rng.random_bool(0.3),
            _ => rng.random_bool(0.9),
        };
        let since = order.delivered_at.unwrap_or(order.placed_at).timestamp();
        // Feedback follows the order by hours to days; on the latest orders, by less.
        let mut created = since + rng.random_range(HOUR..7 * DAY);
        if created >= self.anchor {
            created = rng.random_range(since.min(self.anchor - MINUTE)..self.anchor);
        }
        let spend = ((spent_minor.max(100) as f64 / 60_000.0).ln() / 1.2).clamp(-2.0, 2.0);
        let penalty = if complaint { 1.0 } else { 0.0 };
        let csat = rng.random_bool(0.85).then(|| {
            (3.6 + 0.5 * spend - penalty + 0.8 * normal(rng))
                .round()
                .clamp(1.0, 5.0) as i16
        });
        let nps = rng.random_bool(0.6).then(|| {
            (7.0 + 1.2 * spend - 2.0 * penalty + 1.8 * normal(rng))
                .round()
                .clamp(0.0, 10.0) as i16
        });
        let texts = feedback_texts(category);

        // Most feedback has been worked through; a little still waits at each step.
        // Nine in ten get their first response within the one-hour target.
        let acknowledged = created
            + if rng.random_bool(0.9) {
                rng.random_range(5 * MINUTE..55 * MINUTE)
            } else {
                rng.random_range(HOUR..8 * HOUR)
            };
        let resolved = acknowledged + rng.random_range(HOUR..3 * DAY);
        let closed = resolved + rng.random_range(HOUR..2 * DAY);
        let target_steps = pick(rng, &[(3, 85.0), (2, 6.0), (1, 4.0), (0, 5.0)]);
        let steps = [acknowledged, resolved, closed];
        let reached = steps
            .iter()
            .take(target_steps)
            .take_while(|&&t| t <= self.anchor)
            .count();
        let step = |i: usize| (reached > i).then(|| at(steps[i]));
        feedback::Model {
            id: take_id(next_id),
            customer_id,
            order_id: about_order.then_some(order.id),
            category,
            csat,
            nps,
            text: texts[rng.random_range(0..texts.len())].to_owned(),
            status: [
                FeedbackStatus::Received,
                FeedbackStatus::Acknowledged,
                FeedbackStatus::Resolved,
                FeedbackStatus::Closed,
            ][reached],
            created_at: at(created),
            acknowledged_at: step(0),
            resolved_at: step(1),
            closed_at: step(2),
            updated_at: at(if reached == 0 {
                created
            } else {
                steps[reached - 1]
            }),
            response_due_at: complaint.then(|| {
                at(
                    created
                        + i64::from(FeedbackSettings::default().first_response_minutes) * MINUTE,
                )
            }),
            repeat_of: None,
        }
    }
}

/// Links each complaint to the same customer's previous one when it came
/// within the default repeat window, as submitting them one by one would.
fn link_repeat_complaints(feedback: &mut [feedback::Model]) {
    feedback.sort_by_key(|f| (f.created_at, f.id));
    let mut previous: Option<(i64, DateTime<Utc>)> = None;
    for item in feedback.iter_mut().filter(|f| f.is_complaint()) {
        if let Some((id, at)) = previous
            && item.created_at - at
                <= chrono::Duration::days(FeedbackSettings::default().repeat_window_days.into())
        {
            item.repeat_of = Some(id);
        }
        previous = Some((item.id, item.created_at));
    }
}

/// The status of an order placed at `placed`, as of `anchor`: recent orders may not
/// have been paid, shipped or delivered yet; refunds come after delivery.
fn order_timeline(rng: &mut impl Rng, placed: i64, anchor: i64) -> Timeline {
    let paid = placed + rng.random_range(MINUTE / 2..30 * MINUTE);
    if rng.random_bool(CANCEL_RATE) {
        // Half the cancellations come before payment, half after (and before shipping).
        let paid = rng.random_bool(0.5).then_some(paid).filter(|&t| t < anchor);
        let cancelled =
            (paid.unwrap_or(placed) + rng.random_range(10 * MINUTE..2 * DAY)).min(anchor);
        return Timeline {
            status: OrderStatus::Cancelled,
            paid,
            shipped: None,
            delivered: None,
            cancelled: Some(cancelled),
            refunded: None,
            updated: cancelled,
        };
    }
    let shipped = paid + rng.random_range(4 * HOUR..2 * DAY);
    let delivered = shipped + rng.random_range(DAY..5 * DAY);
    let refunded = delivered + rng.random_range(DAY..14 * DAY);
    let steps = [paid, shipped, delivered, refunded];
    let planned = if rng.random_bool(REFUND_RATE / (1.0 - CANCEL_RATE)) {
        4
    } else {
        3
    };
    let reached = steps
        .iter()
        .take(planned)
        .take_while(|&&t| t <= anchor)
        .count();
    let step = |i: usize| (reached > i).then_some(steps[i]);
    Timeline {
        status: [
            OrderStatus::Placed,
            OrderStatus::Paid,
            OrderStatus::Shipped,
            OrderStatus::Delivered,
            OrderStatus::Refunded,
        ][reached],
        paid: step(0),
        shipped: step(1),
        delivered: step(2),
        cancelled: None,
        refunded: step(3),
        updated: if reached == 0 {
            placed
        } else {
            steps[reached - 1]
        },
    }
}

fn feedback_texts(category: FeedbackCategory) -> &'static [&'static str] {
    match category {
        FeedbackCategory::Quality => &[
            "The item stopped working after a week.",
            "Material feels cheaper than in the photos.",
            "Received a damaged product.",
        ],
        FeedbackCategory::Service => &[
            "Customer service took too long to answer.",
            "The agent was very helpful, thank you.",
            "Nobody followed up on my question.",
        ],
        FeedbackCategory::Payment => &[
            "I was charged twice for one order.",
            "The coupon was not applied at checkout.",
            "Payment failed but the money left my account.",
        ],
        FeedbackCategory::Delivery => &[
            "The parcel arrived three days late.",
            "The courier left the package at the wrong door.",
            "Packaging was crushed on arrival.",
        ],
        FeedbackCategory::Suggestion => &[
            "Please add more sizes.",
            "It would be great to track orders in the mini program.",
            "Offer gift wrapping for birthdays.",
        ],
        FeedbackCategory::Review => &[
            "Great quality, will buy again.",
            "Exactly as described, fast delivery.",
            "Good value for the price.",
        ],
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use retain_schema::MigratorTrait;

    use super::*;

    /// 2026-03-15 13:45:10 UTC: the generated history ends at that day's midnight.
    fn as_of() -> DateTime<Utc> {
        at(1_773_582_310)
    }

    fn generator(seed: u64) -> Generator {
        let anchor = start_of_day(as_of());
        let products = catalogue_products(
            &mut stream(seed, CATALOGUE_STREAM),
            1,
            "CNY",
            anchor - 1_200 * DAY,
        );
        let products = products
            .into_iter()
            .map(|p| (p.id, p.price_minor, p.category))
            .collect();
        Generator {
            seed,
            anchor,
            currency: "CNY".to_owned(),
            catalogue: Catalogue::new(products, seed).expect("a valid catalogue"),
        }
    }

    fn first_ids() -> NextIds {
        NextIds {
            customer: 1,
            order: 1,
            order_item: 1,
            interaction: 1,
            feedback: 1,
        }
    }

    fn generate(seed: u64, customers: Range<u64>) -> Chunk {
        generator(seed).chunk(customers, &mut first_ids())
    }

    #[test]
    fn batches_cover_every_row_within_the_limit() {
        for rows in [0, 1, 999, 5_461, 5_462, 20_000] {
            let sizes: Vec<usize> = batch_sizes(rows, 5_461).collect();
            assert_eq!(sizes.iter().sum::<usize>(), rows);
            assert!(sizes.iter().all(|&size| (1..=5_461).contains(&size)));
        }
    }

    #[test]
    fn the_same_seed_generates_the_same_rows() {
        assert_eq!(generate(7, 0..300), generate(7, 0..300));
        assert_ne!(generate(7, 0..300), generate(8, 0..300));
    }

    #[test]
    fn chunking_does_not_change_the_data() {
        let generator = generator(3);
        let whole = generator.chunk(0..200, &mut first_ids());
        let mut ids = first_ids();
        let first = generator.chunk(0..120, &mut ids);
        let second = generator.chunk(120..200, &mut ids);
        assert_eq!(
            first
                .customers
                .iter()
                .chain(&second.customers)
                .cloned()
                .collect::<Vec<_>>(),
            whole.customers
        );
        assert_eq!(
            first
                .orders
                .iter()
                .chain(&second.orders)
                .cloned()
                .collect::<Vec<_>>(),
            whole.orders
        );
        assert_eq!(
            first
                .order_items
                .iter()
                .chain(&second.order_items)
                .cloned()
                .collect::<Vec<_>>(),
            whole.order_items
        );
        assert_eq!(
            first
                .interactions
                .iter()
                .chain(&second.interactions)
                .cloned()
                .collect::<Vec<_>>(),
            whole.interactions
        );
        assert_eq!(
            first
                .feedback
                .iter()
                .chain(&second.feedback)
                .cloned()
                .collect::<Vec<_>>(),
            whole.feedback
        );
    }

    #[test]
    fn orders_are_consistent() {
        let chunk = generate(11, 0..3_000);
        let anchor = at(start_of_day(as_of()));
        let signups: HashMap<i64, DateTime<Utc>> = chunk
            .customers
            .iter()
            .map(|c| (c.id, c.signup_at))
            .collect();
        let mut numbers = HashSet::new();
        for order in &chunk.orders {
            assert!(
                numbers.insert(&order.order_number),
                "duplicate {}",
                order.order_number
            );
            assert!(
                order.placed_at >= signups[&order.customer_id],
                "order {} before signup",
                order.id
            );
            let steps = [
                order.paid_at,
                order.shipped_at,
                order.delivered_at,
                order.refunded_at,
            ];
            let mut previous = order.placed_at;
            for time in steps.into_iter().chain([order.cancelled_at]).flatten() {
                assert!(time <= anchor, "order {} has a time after as_of", order.id);
                assert!(
                    time > previous || order.cancelled_at == Some(time),
                    "order {} goes back in time",
                    order.id
                );
                previous = previous.max(time);
            }
            let set = steps.map(|time| time.is_some());
            let expected = match order.status {
                OrderStatus::Placed => [false, false, false, false],
                OrderStatus::Paid => [true, false, false, false],
                OrderStatus::Shipped => [true, true, false, false],
                OrderStatus::Delivered => [true, true, true, false],
                OrderStatus::Refunded => [true, true, true, true],
                OrderStatus::Cancelled => [order.paid_at.is_some(), false, false, false],
            };
            assert_eq!(set, expected, "order {} is {:?}", order.id, order.status);
            assert_eq!(
                order.cancelled_at.is_some(),
                order.status == OrderStatus::Cancelled
            );
            if let Some(cancelled) = order.cancelled_at {
                assert!(cancelled > order.paid_at.unwrap_or(order.placed_at));
            }
            assert_eq!(
                order.updated_at,
                steps
                    .into_iter()
                    .chain([order.cancelled_at])
                    .flatten()
                    .max()
                    .unwrap_or(order.placed_at)
            );
            assert!(order.discount_minor >= 0 && order.total_minor >= 0);
            assert_eq!(
                order.total_minor,
                order.subtotal_minor - order.discount_minor
            );
        }
        let mut lines: HashMap<i64, (usize, i64)> = HashMap::new();
        for item in &chunk.order_items {
            assert_eq!(
                item.line_total_minor,
                item.unit_price_minor * i64::from(item.quantity)
            );
            let entry = lines.entry(item.order_id).or_default();
            entry.0 += 1;
            entry.1 += item.line_total_minor;
        }
        for order in &chunk.orders {
            let (count, sum) = lines[&order.id];
            assert!((1..=4).contains(&count));
            assert_eq!(sum, order.subtotal_minor);
        }
        let cancelled = chunk
            .orders
            .iter()
            .filter(|o| o.status == OrderStatus::Cancelled)
            .count();
        let share = cancelled as f64 / chunk.orders.len() as f64;
        assert!((0.02..0.04).contains(&share), "{share} cancelled");
    }

    #[test]
    fn customers_look_like_a_real_shop() {
        let chunk = generate(5, 0..3_000);
        let anchor = at(start_of_day(as_of()));
        let customers = chunk.customers.len() as f64;
        let mut last_order = HashMap::new();
        let mut orders_per_customer = HashMap::new();
        for order in &chunk.orders {
            let last = last_order
                .entry(order.customer_id)
                .or_insert(order.placed_at);
            *last = (*last).max(order.placed_at);
            *orders_per_customer.entry(order.customer_id).or_insert(0) += 1;
        }
        assert_eq!(
            orders_per_customer.len(),
            chunk.customers.len(),
            "everyone bought once"
        );

        let dormant = last_order
            .values()
            .filter(|&&t| t < anchor - TimeDelta::days(DORMANT_AFTER_DAYS))
            .count();
        let dormant = dormant as f64 / customers;
        assert!((0.18..0.27).contains(&dormant), "{dormant} dormant");

        let one_off = orders_per_customer.values().filter(|&&n| n == 1).count() as f64 / customers;
        let heavy = orders_per_customer.values().filter(|&&n| n >= 20).count() as f64 / customers;
        let mean = chunk.orders.len() as f64 / customers;
        assert!((0.4..0.65).contains(&one_off), "{one_off} one-off buyers");
        assert!((0.01..0.06).contains(&heavy), "{heavy} heavy buyers");
        assert!((3.0..5.5).contains(&mean), "{mean} orders per customer");

        let mut by_month = [0usize; 12];
        for order in &chunk.orders {
            by_month[order.placed_at.month0() as usize] += 1;
        }
        // Peaks stand out from their neighbours (both sides of as_of's recent months).
        assert!(
            by_month[10] > by_month[9] * 5 / 4,
            "November beats October: {by_month:?}"
        );
        assert!(
            by_month[5] > by_month[4] * 5 / 4,
            "June beats May: {by_month:?}"
        );

        let signups = chunk.customers.iter().map(|c| c.signup_at);
        assert!(
            signups
                .clone()
                .all(|t| t < anchor && t >= anchor - TimeDelta::days(SIGNUP_SPAN_DAYS + 1))
        );
        assert!(chunk.interactions.iter().all(|i| i.occurred_at <= anchor));
        let interactions = chunk.interactions.len() as f64 / customers;
        assert!(
            (8.0..25.0).contains(&interactions),
            "{interactions} interactions per customer"
        );

        let feedback_customers: HashSet<i64> =
            chunk.feedback.iter().map(|f| f.customer_id).collect();
        let share = feedback_customers.len() as f64 / customers;
        assert!((0.03..0.07).contains(&share), "{share} leave feedback");
        assert!(
            chunk
                .feedback
                .iter()
                .all(|f| f.csat.is_none_or(|s| (1..=5).contains(&s))
                    && f.nps.is_none_or(|s| (0..=10).contains(&s))
                    && f.created_at <= anchor)
        );

        let external_ids: HashSet<_> = chunk.customers.iter().map(|c| &c.external_id).collect();
        assert_eq!(external_ids.len(), chunk.customers.len());
        let phones: Vec<_> = chunk
            .customers
            .iter()
            .filter_map(|c| c.phone.as_ref())
            .collect();
        assert_eq!(phones.iter().collect::<HashSet<_>>().len(), phones.len());
        let mut tags = HashSet::new();
        assert!(
            chunk
                .tags
                .iter()
                .all(|t| tags.insert((t.customer_id, &t.tag))),
            "tags are distinct per customer"
        );
    }

    #[tokio::test]
    async fn seeding_twice_appends_after_existing_rows() {
        let db = sea_orm::Database::connect("sqlite::memory:")
            .await
            .expect("an in-memory database");
        retain_schema::Migrator::up(&db, None)
            .await
            .expect("migrations");
        let options = SeedOptions {
            customers: 2_500,
            seed: 1,
            currency: "CNY".to_owned(),
            as_of: as_of(),
        };
        let progress = ProgressBar::hidden();

        // Small chunks, so the test goes through the generate-while-writing pipeline.
        let first = seed_in_chunks(&db, &options, &progress, 1_000)
            .await
            .expect("first seed");
        assert_eq!(first.customers, 2_500);
        assert_eq!(
            first.products,
            (CATEGORIES.len() * PRODUCTS_PER_CATEGORY) as u64
        );
        assert_eq!(progress.position(), 2_500);
        // What was written is exactly what the generator makes.
        let expected = generate(1, 0..100);
        let customers = customer::Entity::find()
            .order_by_asc(customer::Column::Id)
            .limit(100)
            .all(&db)
            .await
            .expect("customers");
        assert_eq!(customers, expected.customers);
        let orders = order::Entity::find()
            .filter(order::Column::CustomerId.lte(100))
            .order_by_asc(order::Column::Id)
            .all(&db)
            .await
            .expect("orders");
        assert_eq!(orders, expected.orders);

        let second = seed(&db, &options, &progress).await.expect("second seed");
        assert_eq!(second.products, 0, "the catalogue is reused");
        assert_eq!(
            second.orders, first.orders,
            "the same seed makes the same data"
        );

        assert_eq!(
            customer::Entity::find().count(&db).await.expect("count"),
            5_000
        );
        assert_eq!(
            order::Entity::find().count(&db).await.expect("count"),
            first.orders * 2
        );
        assert_eq!(
            order_item::Entity::find().count(&db).await.expect("count"),
            first.order_items * 2
        );
        assert_eq!(
            interaction::Entity::find().count(&db).await.expect("count"),
            first.interactions * 2
        );
        assert_eq!(
            feedback::Entity::find().count(&db).await.expect("count"),
            first.feedback * 2
        );
    }
}
