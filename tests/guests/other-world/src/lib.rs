//! A valid component of a world that is not one of Retain's: publish must refuse it.

wit_bindgen::generate!({
    inline: "
        package test:other;

        world other {
            export run: func() -> u32;
        }
    ",
});

struct Other;

impl Guest for Other {
    fn run() -> u32 {
        42
    }
}

export!(Other);
