//! The core module of a rule plugin, generated instruction by instruction: a
//! bump allocator as `cabi_realloc` (every call gets a fresh instance, so
//! nothing is ever freed), `describe` returning static data, and `classify`, one
//! loop over the batch's columns in linear memory.

use std::collections::BTreeMap;

use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, DataSection, ExportKind, ExportSection, Function,
    FunctionSection, GlobalSection, GlobalType, InstructionSink, MemArg, MemorySection, MemoryType,
    Module, TypeSection, ValType,
};

use super::abi::{STRING_SIZE, params, result};
use super::data::{BASE, Data, Str};
use crate::features::{Column, Feature, Kind, Width};
use crate::ruleset::{Arith, Cmp, Condition, Expr, RuleSet};

/// Tags a rule file may test: one bit each in a per-customer mask.
pub const MAX_TAGS: usize = 64;

// Function indexes.
const REALLOC: u32 = 0;
const DESCRIBE: u32 = 1;
const CLASSIFY: u32 = 2;
const STR_EQ: u32 = 3;
const CONFIG_OK: u32 = 4;
const FAIL: u32 = 5;
/// The heap pointer global.
const HEAP: u32 = 0;
const PAGE: i32 = 65536;

/// The core module for `rules`, with no component metadata yet.
pub fn core_module(rules: &RuleSet) -> Vec<u8> {
    let mut data = Data::default();
    let info = data.plugin_info(rules);
    let messages = Messages::new(&mut data, rules);
    let tags: Vec<Str> = rules.tags().iter().map(|t| data.string(t)).collect();
    let heap_start = data.end();

    let mut types = TypeSection::new();
    // Types: realloc, describe, classify, and (i32, i32) -> i32 for the helpers.
    types.ty().function([ValType::I32; 4], [ValType::I32]);
    types.ty().function([], [ValType::I32]);
    types.ty().function([ValType::I32], [ValType::I32]);
    types.ty().function([ValType::I32; 2], [ValType::I32]);
    let mut functions = FunctionSection::new();
    // In the order of the function indexes above.
    for ty in [0, 1, 2, 3, 3, 3] {
        functions.function(ty);
    }
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: u64::from(heap_start.div_ceil(PAGE as u32)).max(1),
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut globals = GlobalSection::new();
    globals.global(
        GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        },
        &ConstExpr::i32_const(heap_start as i32),
    );
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export("cabi_realloc", ExportKind::Func, REALLOC);
    exports.export("describe", ExportKind::Func, DESCRIBE);
    exports.export("classify", ExportKind::Func, CLASSIFY);

    let mut code = CodeSection::new();
    code.function(&realloc());
    code.function(&describe(info));
    code.function(&Classify::new(rules, &messages, &tags).finish());
    code.function(&str_eq());
    code.function(&config_ok());
    code.function(&fail());

    let mut segments = DataSection::new();
    segments.active(0, &ConstExpr::i32_const(BASE as i32), data.into_bytes());

    let mut module = Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&memories)
        .section(&globals)
        .section(&exports)
        .section(&code)
        .section(&segments);
    module.finish()
}

/// The errors `classify` can answer with.
struct Messages {
    config: Str,
    tags: Str,
    columns: BTreeMap<Column, Str>,
}

impl Messages {
    fn new(data: &mut Data, rules: &RuleSet) -> Self {
        Self {
            config: data.string(
                "rule plugins take no configuration (the config must be {}): the thresholds are in the rules",
            ),
            tags: data.string("the batch's tag-offsets do not fit its tag-codes"),
            columns: rules
                .columns()
                .into_iter()
                .map(|c| {
                    let message = format!("the batch's {} list does not have len entries", c.wit_name());
                    (c, data.string(&message))
                })
                .collect(),
        }
    }
}

fn mem(offset: u64, align: u32) -> MemArg {
    MemArg {
        offset,
        align,
        memory_index: 0,
    }
}

/// A function body under construction: instructions, and locals allocated as
/// they are needed.
struct Body {
    params: u32,
    locals: Vec<ValType>,
    code: Vec<u8>,
}

impl Body {
    fn new(params: u32) -> Self {
        Self {
            params,
            locals: Vec::new(),
            code: Vec::new(),
        }
    }

    fn local(&mut self, ty: ValType) -> u32 {
        self.locals.push(ty);
        self.params + self.locals.len() as u32 - 1
    }

    fn ins(&mut self) -> InstructionSink<'_> {
        InstructionSink::new(&mut self.code)
    }

    fn finish(mut self) -> Function {
        self.ins().end();
        let mut function = Function::new_with_locals_types(self.locals);
        function.raw(self.code);
        function
    }
}

/// `cabi_realloc(old_ptr, old_size, align, new_size)`: bump allocation, growing
/// memory as needed; trap when memory cannot grow (the host reports the cap).
fn realloc() -> Function {
    let (old_ptr, old_size, align, new_size) = (0, 1, 2, 3);
    let mut f = Body::new(4);
    let ptr = f.local(ValType::I32);
    let end = f.local(ValType::I32);
    let missing = f.local(ValType::I32);
    let mut i = f.ins();
    // Shrinking or keeping the size reuses the block.
    i.local_get(new_size)
        .local_get(old_size)
        .i32_le_u()
        .if_(BlockType::Empty)
        .local_get(old_ptr)
        .return_()
        .end();
    // ptr = (heap + align - 1) & -align
    i.global_get(HEAP)
        .local_get(align)
        .i32_add()
        .i32_const(1)
        .i32_sub()
        .i32_const(0)
        .local_get(align)
        .i32_sub()
        .i32_and()
        .local_tee(ptr)
        .local_get(new_size)
        .i32_add()
        .local_tee(end)
        .local_get(ptr)
        .i32_lt_u()
        .if_(BlockType::Empty)
        .unreachable()
        .end();
    // Past the end of memory: double it (the host lowers a dozen lists, one
    // allocation each, so growing by the missing pages alone would grow a dozen
    // times), or grow by just the missing pages when doubling hits the cap.
    i.local_get(end)
        .memory_size(0)
        .i32_const(PAGE)
        .i32_mul()
        .i32_gt_u()
        .if_(BlockType::Empty)
        .local_get(end)
        .memory_size(0)
        .i32_const(PAGE)
        .i32_mul()
        .i32_sub()
        .i32_const(PAGE - 1)
        .i32_add()
        .i32_const(16)
        .i32_shr_u()
        .local_tee(missing)
        .memory_size(0)
        .local_get(missing)
        .memory_size(0)
        .i32_gt_u()
        .select()
        .memory_grow(0)
        .i32_const(-1)
        .i32_eq()
        .if_(BlockType::Empty)
        .local_get(missing)
        .memory_grow(0)
        .i32_const(-1)
        .i32_eq()
        .if_(BlockType::Empty)
        .unreachable()
        .end()
        .end()
        .end();
    i.local_get(end).global_set(HEAP);
    i.local_get(old_size)
        .if_(BlockType::Empty)
        .local_get(ptr)
        .local_get(old_ptr)
        .local_get(old_size)
        .memory_copy(0, 0)
        .end();
    i.local_get(ptr);
    f.finish()
}

fn describe(info: u32) -> Function {
    let mut f = Body::new(0);
    f.ins().i32_const(info as i32);
    f.finish()
}

/// `str_eq(a, b)`: whether the strings at `a` and `b` (pointer, length) hold
/// the same bytes.
fn str_eq() -> Function {
    let (a, b) = (0, 1);
    let mut f = Body::new(2);
    let len = f.local(ValType::I32);
    let k = f.local(ValType::I32);
    let mut i = f.ins();
    i.local_get(a)
        .i32_load(mem(4, 2))
        .local_tee(len)
        .local_get(b)
        .i32_load(mem(4, 2))
        .i32_ne()
        .if_(BlockType::Empty)
        .i32_const(0)
        .return_()
        .end();
    i.block(BlockType::Empty)
        .loop_(BlockType::Empty)
        .local_get(k)
        .local_get(len)
        .i32_ge_u()
        .br_if(1)
        .local_get(a)
        .i32_load(mem(0, 2))
        .local_get(k)
        .i32_add()
        .i32_load8_u(mem(0, 0))
        .local_get(b)
        .i32_load(mem(0, 2))
        .local_get(k)
        .i32_add()
        .i32_load8_u(mem(0, 0))
        .i32_ne()
        .if_(BlockType::Empty)
        .i32_const(0)
        .return_()
        .end()
        .local_get(k)
        .i32_const(1)
        .i32_add()
        .local_set(k)
        .br(0)
        .end()
        .end();
    i.i32_const(1);
    f.finish()
}

/// `config_ok(ptr, len)`: whether the config is `{}`, give or take whitespace.
fn config_ok() -> Function {
    let (ptr, len) = (0, 1);
    let mut f = Body::new(2);
    let k = f.local(ValType::I32);
    let byte = f.local(ValType::I32);
    // 0: before `{`, 1: after `{`, 2: after `}`.
    let state = f.local(ValType::I32);
    let mut i = f.ins();
    i.block(BlockType::Empty)
        .loop_(BlockType::Empty)
        .local_get(k)
        .local_get(len)
        .i32_ge_u()
        .br_if(1)
        .local_get(ptr)
        .local_get(k)
        .i32_add()
        .i32_load8_u(mem(0, 0))
        .local_set(byte)
        .local_get(k)
        .i32_const(1)
        .i32_add()
        .local_set(k);
    for space in [b' ', b'\t', b'\n', b'\r'] {
        i.local_get(byte)
            .i32_const(i32::from(space))
            .i32_eq()
            .br_if(0);
    }
    for (from, expected) in [(0, b'{'), (1, b'}')] {
        i.local_get(state)
            .i32_const(from)
            .i32_eq()
            .local_get(byte)
            .i32_const(i32::from(expected))
            .i32_eq()
            .i32_and()
            .if_(BlockType::Empty)
            .i32_const(from + 1)
            .local_set(state)
            .br(1)
            .end();
    }
    i.i32_const(0).return_().end().end();
    i.local_get(state).i32_const(2).i32_eq();
    f.finish()
}

/// `fail(ptr, len)`: a `result` holding the error string at `ptr`.
fn fail() -> Function {
    let (ptr, len) = (0, 1);
    let mut f = Body::new(2);
    let out = f.local(ValType::I32);
    let words = [(result::ERROR_PTR, ptr), (result::ERROR_LEN, len)];
    result_record(&mut f.ins(), out, 1, &words);
    f.finish()
}

/// Allocates a `result` record into local `out`, writes its `tag` and each
/// `(offset, local)` word, and leaves its pointer on the stack: what an export
/// returning a `result` ends with.
fn result_record(ins: &mut InstructionSink<'_>, out: u32, tag: i32, words: &[(u64, u32)]) {
    ins.i32_const(0)
        .i32_const(0)
        .i32_const(4)
        .i32_const(result::SIZE)
        .call(REALLOC)
        .local_tee(out)
        .i32_const(tag)
        .i32_store8(mem(result::TAG, 0));
    for &(offset, local) in words {
        ins.local_get(out)
            .local_get(local)
            .i32_store(mem(offset, 2));
    }
    ins.local_get(out);
}

/// `classify(params)`: checks the config and the batch's shape, then one pass
/// over the customers.
struct Classify<'a> {
    rules: &'a RuleSet,
    f: Body,
    /// The pointer to `(config, batch)`.
    params: u32,
    len: u32,
    i: u32,
    /// Each column's list pointer.
    columns: BTreeMap<Column, u32>,
    /// Each feature's value for the current customer, as `i64`.
    features: BTreeMap<Feature, u32>,
    /// Bit k: the customer has the k-th tag the rules test.
    tag_mask: u32,
    tags: Vec<String>,
    /// Scratch for division in the score.
    divisor: u32,
}

impl<'a> Classify<'a> {
    fn new(rules: &'a RuleSet, messages: &Messages, tags: &[Str]) -> Self {
        let mut f = Body::new(1);
        let len = f.local(ValType::I32);
        let i = f.local(ValType::I32);
        let tag_mask = f.local(ValType::I64);
        let divisor = f.local(ValType::F64);
        let mut this = Self {
            rules,
            f,
            params: 0,
            len,
            i,
            columns: BTreeMap::new(),
            features: BTreeMap::new(),
            tag_mask,
            tags: rules.tags(),
            divisor,
        };
        this.check_config(messages.config);
        this.f
            .ins()
            .local_get(this.params)
            .i32_load(mem(params::BATCH_LEN, 2))
            .local_set(len);
        for (column, message) in &messages.columns {
            let ptr = this.list(column.list_index(), Some(*message));
            this.columns.insert(*column, ptr);
        }
        for feature in rules.features() {
            let local = this.f.local(ValType::I64);
            this.features.insert(feature, local);
        }
        let tag_codes = (!tags.is_empty()).then(|| this.resolve_tags(tags, messages.tags));
        this.classify_loop(tag_codes);
        this
    }

    fn finish(self) -> Function {
        self.f.finish()
    }

    fn check_config(&mut self, message: Str) {
        let p = self.params;
        self.f
            .ins()
            .local_get(p)
            .i32_load(mem(params::CONFIG_PTR, 2))
            .local_get(p)
            .i32_load(mem(params::CONFIG_LEN, 2))
            .call(CONFIG_OK)
            .i32_eqz();
        self.fail_if(message);
    }

    /// With the condition on the stack: return `message` as the error if it holds.
    fn fail_if(&mut self, message: Str) {
        self.f
            .ins()
            .if_(BlockType::Empty)
            .i32_const(message.ptr as i32)
            .i32_const(message.len as i32)
            .call(FAIL)
            .return_()
            .end();
    }

    /// Reads list `k`'s pointer into a local; with a message, checks that the
    /// list has `len` entries.
    fn list(&mut self, k: u32, must_have_len: Option<Str>) -> u32 {
        let ptr = self.f.local(ValType::I32);
        let p = self.params;
        self.f
            .ins()
            .local_get(p)
            .i32_load(mem(params::list(k), 2))
            .local_set(ptr);
        if let Some(message) = must_have_len {
            let len = self.len;
            self.f
                .ins()
                .local_get(p)
                .i32_load(mem(params::list(k) + 4, 2))
                .local_get(len)
                .i32_ne();
            self.fail_if(message);
        }
        ptr
    }

    /// Checks the tag lists' shape and finds, once per batch, the code of each
    /// tag the rules test (-1 when no customer of the batch has it). Returns the
    /// offsets' and codes' pointers and the code locals.
    fn resolve_tags(&mut self, tags: &[Str], malformed: Str) -> (u32, u32, Vec<u32>) {
        let names = self.list(params::TAG_NAMES, None);
        let offsets = self.list(params::TAG_OFFSETS, None);
        let codes = self.list(params::TAG_CODES, None);
        let (p, len, i) = (self.params, self.len, self.i);
        let previous = self.f.local(ValType::I32);
        let current = self.f.local(ValType::I32);
        // len + 1 offsets, never decreasing, the last within the codes.
        self.f
            .ins()
            .local_get(p)
            .i32_load(mem(params::list(params::TAG_OFFSETS) + 4, 2))
            .local_get(len)
            .i32_const(1)
            .i32_add()
            .i32_ne();
        self.fail_if(malformed);
        self.f
            .ins()
            .i32_const(0)
            .local_set(i)
            .block(BlockType::Empty)
            .loop_(BlockType::Empty)
            .local_get(i)
            .local_get(len)
            .i32_gt_u()
            .br_if(1)
            .local_get(offsets)
            .local_get(i)
            .i32_const(4)
            .i32_mul()
            .i32_add()
            .i32_load(mem(0, 2))
            .local_tee(current)
            .local_get(previous)
            .i32_lt_u()
            .local_get(current)
            .local_get(p)
            .i32_load(mem(params::list(params::TAG_CODES) + 4, 2))
            .i32_gt_u()
            .i32_or();
        self.fail_if(malformed);
        self.f
            .ins()
            .local_get(current)
            .local_set(previous)
            .local_get(i)
            .i32_const(1)
            .i32_add()
            .local_set(i)
            .br(0)
            .end()
            .end();
        // The rule's tag strings as (pointer, length) pairs to compare with.
        let pair = self.f.local(ValType::I32);
        let name = self.f.local(ValType::I32);
        let names_len = self.f.local(ValType::I32);
        self.f
            .ins()
            .local_get(p)
            .i32_load(mem(params::list(params::TAG_NAMES) + 4, 2))
            .local_set(names_len)
            .i32_const(0)
            .i32_const(0)
            .i32_const(4)
            .i32_const(8)
            .call(REALLOC)
            .local_set(pair);
        let mut code_locals = Vec::new();
        for tag in tags {
            let code = self.f.local(ValType::I32);
            code_locals.push(code);
            self.f
                .ins()
                .local_get(pair)
                .i32_const(tag.ptr as i32)
                .i32_store(mem(0, 2))
                .local_get(pair)
                .i32_const(tag.len as i32)
                .i32_store(mem(4, 2))
                .i32_const(-1)
                .local_set(code)
                .i32_const(0)
                .local_set(name)
                .block(BlockType::Empty)
                .loop_(BlockType::Empty)
                .local_get(name)
                .local_get(names_len)
                .i32_ge_u()
                .br_if(1)
                .local_get(names)
                .local_get(name)
                .i32_const(STRING_SIZE as i32)
                .i32_mul()
                .i32_add()
                .local_get(pair)
                .call(STR_EQ)
                .if_(BlockType::Empty)
                .local_get(name)
                .local_set(code)
                .br(2)
                .end()
                .local_get(name)
                .i32_const(1)
                .i32_add()
                .local_set(name)
                .br(0)
                .end()
                .end();
        }
        (offsets, codes, code_locals)
    }

    fn classify_loop(&mut self, tag_codes: Option<(u32, u32, Vec<u32>)>) {
        let (len, i) = (self.len, self.i);
        let segments = self.f.local(ValType::I32);
        let scores = self.f.local(ValType::I32);
        let segment = self.f.local(ValType::I32);
        let score = self.f.local(ValType::F32);
        let out = self.f.local(ValType::I32);
        for (local, size, align) in [(segments, 2, 2), (scores, 4, 4)] {
            self.f
                .ins()
                .i32_const(0)
                .i32_const(0)
                .i32_const(align)
                .local_get(len)
                .i32_const(size)
                .i32_mul()
                .call(REALLOC)
                .local_set(local);
        }
        self.f
            .ins()
            .i32_const(0)
            .local_set(i)
            .block(BlockType::Empty)
            .loop_(BlockType::Empty)
            .local_get(i)
            .local_get(len)
            .i32_ge_u()
            .br_if(1);
        self.load_features();
        if let Some((offsets, codes, code_locals)) = &tag_codes {
            self.load_tag_mask(*offsets, *codes, code_locals);
        }
        self.choose_segment(segment);
        self.compute_score(score);
        self.f
            .ins()
            .local_get(segments)
            .local_get(i)
            .i32_const(2)
            .i32_mul()
            .i32_add()
            .local_get(segment)
            .i32_store16(mem(0, 1))
            .local_get(scores)
            .local_get(i)
            .i32_const(4)
            .i32_mul()
            .i32_add()
            .local_get(score)
            .f32_store(mem(0, 2))
            .local_get(i)
            .i32_const(1)
            .i32_add()
            .local_set(i)
            .br(0)
            .end()
            .end();
        let words = [
            (result::SEGMENTS_PTR, segments),
            (result::SEGMENTS_LEN, len),
            (result::SCORES_PTR, scores),
            (result::SCORES_LEN, len),
        ];
        result_record(&mut self.f.ins(), out, 0, &words);
    }

    /// Every feature the rules read, for customer `i`, widened to `i64`.
    fn load_features(&mut self) {
        let i = self.i;
        for (feature, local) in self.features.clone() {
            let column = feature.column();
            let ptr = self.columns[&column];
            let width = column.width();
            let mut ins = self.f.ins();
            ins.local_get(ptr)
                .local_get(i)
                .i32_const(width.bytes() as i32)
                .i32_mul()
                .i32_add();
            match width {
                Width::U8 => ins.i64_load8_u(mem(0, 0)),
                Width::U32 => ins.i64_load32_u(mem(0, 2)),
                Width::S64 => ins.i64_load(mem(0, 3)),
            };
            ins.local_set(local);
            if feature.less_one() {
                // max(value - 1, 0) for a value that is never negative.
                ins.local_get(local)
                    .i64_const(1)
                    .i64_sub()
                    .i64_const(0)
                    .local_get(local)
                    .i64_const(0)
                    .i64_gt_s()
                    .select()
                    .local_set(local);
            }
        }
    }

    /// Sets bit k of the mask when customer `i` has the k-th tag.
    fn load_tag_mask(&mut self, offsets: u32, codes: u32, code_locals: &[u32]) {
        let i = self.i;
        let mask = self.tag_mask;
        let j = self.f.local(ValType::I32);
        let end = self.f.local(ValType::I32);
        let code = self.f.local(ValType::I32);
        let mut ins = self.f.ins();
        ins.i64_const(0).local_set(mask);
        for (local, offset) in [(j, 0), (end, 4)] {
            ins.local_get(offsets)
                .local_get(i)
                .i32_const(4)
                .i32_mul()
                .i32_add()
                .i32_load(mem(offset, 2))
                .local_set(local);
        }
        ins.block(BlockType::Empty)
            .loop_(BlockType::Empty)
            .local_get(j)
            .local_get(end)
            .i32_ge_u()
            .br_if(1)
            .local_get(codes)
            .local_get(j)
            .i32_const(4)
            .i32_mul()
            .i32_add()
            .i32_load(mem(0, 2))
            .local_set(code);
        for (bit, rule_code) in code_locals.iter().enumerate() {
            ins.local_get(mask)
                .local_get(code)
                .local_get(*rule_code)
                .i32_eq()
                .i64_extend_i32_u()
                .i64_const(bit as i64)
                .i64_shl()
                .i64_or()
                .local_set(mask);
        }
        ins.local_get(j)
            .i32_const(1)
            .i32_add()
            .local_set(j)
            .br(0)
            .end()
            .end();
    }

    /// The first segment whose condition holds; the default otherwise.
    fn choose_segment(&mut self, segment: u32) {
        let default = self.rules.segments.len() as i32 - 1;
        self.f
            .ins()
            .i32_const(default)
            .local_set(segment)
            .block(BlockType::Empty);
        for (index, s) in self.rules.segments.iter().enumerate() {
            let Some(when) = &s.when else { continue };
            self.condition(when);
            self.f
                .ins()
                .if_(BlockType::Empty)
                .i32_const(index as i32)
                .local_set(segment)
                .br(1)
                .end();
        }
        self.f.ins().end();
    }

    /// Pushes 1 if `condition` holds for the current customer, else 0.
    fn condition(&mut self, condition: &Condition) {
        match condition {
            Condition::Compare(feature, cmp, value) => {
                let local = self.features[feature];
                let mut ins = self.f.ins();
                ins.local_get(local).i64_const(*value);
                match cmp {
                    Cmp::Lt => ins.i64_lt_s(),
                    Cmp::Le => ins.i64_le_s(),
                    Cmp::Gt => ins.i64_gt_s(),
                    Cmp::Ge => ins.i64_ge_s(),
                    Cmp::Eq => ins.i64_eq(),
                    Cmp::Ne => ins.i64_ne(),
                };
            }
            Condition::HasTag(tag) => {
                let bit = self.tags.iter().position(|t| t == tag).expect("collected");
                let mask = self.tag_mask;
                self.f
                    .ins()
                    .local_get(mask)
                    .i64_const(1 << bit)
                    .i64_and()
                    .i64_const(0)
                    .i64_ne();
            }
            Condition::Not(inner) => {
                self.condition(inner);
                self.f.ins().i32_eqz();
            }
            // No side effects and no traps: both sides are evaluated, without
            // branches.
            Condition::And(a, b) => {
                self.condition(a);
                self.condition(b);
                self.f.ins().i32_and();
            }
            Condition::Or(a, b) => {
                self.condition(a);
                self.condition(b);
                self.f.ins().i32_or();
            }
        }
    }

    /// The score as `f32`, 0 when it is not finite (`x - x` is 0 only for
    /// finite `x`).
    fn compute_score(&mut self, score: u32) {
        match self.rules.score.clone() {
            Some(expr) => {
                self.expr(&expr);
                self.f
                    .ins()
                    .f32_demote_f64()
                    .local_tee(score)
                    .f32_const(0.0.into())
                    .local_get(score)
                    .local_get(score)
                    .f32_sub()
                    .f32_const(0.0.into())
                    .f32_eq()
                    .select()
                    .local_set(score);
            }
            None => {
                self.f.ins().f32_const(0.0.into()).local_set(score);
            }
        }
    }

    /// Pushes the expression's `f64` value.
    fn expr(&mut self, expr: &Expr) {
        match expr {
            Expr::Number(number) => {
                self.f.ins().f64_const((*number).into());
            }
            Expr::Feature(feature) => {
                let local = self.features[feature];
                let mut ins = self.f.ins();
                ins.local_get(local).f64_convert_i64_s();
                if feature.kind() == Kind::Money {
                    ins.f64_const(100.0.into()).f64_div();
                }
            }
            Expr::Neg(inner) => {
                self.expr(inner);
                self.f.ins().f64_neg();
            }
            Expr::Binary(op, a, b) => {
                self.expr(a);
                self.expr(b);
                let divisor = self.divisor;
                let mut ins = self.f.ins();
                match op {
                    Arith::Add => ins.f64_add(),
                    Arith::Sub => ins.f64_sub(),
                    Arith::Mul => ins.f64_mul(),
                    // a / b, or 0 when b is 0.
                    Arith::Div => ins
                        .local_tee(divisor)
                        .f64_div()
                        .f64_const(0.0.into())
                        .local_get(divisor)
                        .f64_const(0.0.into())
                        .f64_ne()
                        .select(),
                };
            }
            Expr::Min(a, b) => {
                self.expr(a);
                self.expr(b);
                self.f.ins().f64_min();
            }
            Expr::Max(a, b) => {
                self.expr(a);
                self.expr(b);
                self.f.ins().f64_max();
            }
        }
    }
}
