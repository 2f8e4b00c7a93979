"""Templates of the project's own SEV data (data only: plain Python literals).

Read by :mod:`circuits.data.generator`. Every theme is a tuple of *groups*; a group is one
coherent kind of situation (a document handed in for review, a request to an office, an item
lent to a friend, ...). Within a group every scenario frame reads naturally with every agent and
every thing, and every outcome triple follows naturally from every scenario frame, so the
generator may combine them freely; groups are never mixed.

Group fields:

- ``agents``: who reacts, lowercase noun phrases ("my manager", "the judges"). Frames never
  conjugate a verb in the present tense after an agent, so singular and plural agents both fit.
- ``things``: what the scenario is about, singular noun phrases (frames may say "it").
- ``test_things``: things held out for the test split only (content the model never saw).
- ``scenarios``: neutral first-person frames with the slots ``{thing}`` and ``{agent}``.
- ``test_scenarios``: scenario frames held out for the test split only.
- ``outcomes``: ``(positive, neutral, negative)`` event frames that share their wording and
  differ in outcome, with the slots ``{agent}`` and ``{thing}``.

No frame and no pool entry may contain a word of :data:`EMOTION_WORDS`: the emotion of a reply
has to be implied by the outcome, never named by the event.
"""

from __future__ import annotations

EMOTION_WORDS: frozenset[str] = frozenset(
    """
    anger angry angrily angered rage raging enraged furious fury fuming livid irate irritated
    irritating annoyed annoying annoyance outraged outrageous frustrated frustrating frustration
    resentful resentment mad hate hated hatred bitter
    sad sadly sadness unhappy unhappiness sorrow sorrowful grief grieving heartbroken heartbreaking
    miserable misery depressed depressing gloomy glum lonely tearful tears crying cried despair
    hopeless disappointed disappointing disappointment sorry regret
    happy happily happiness glad gladly joy joyful joyous cheerful delighted delight delightful
    thrilled ecstatic elated overjoyed excited exciting excitement pleased pleasure love loved
    lovely enjoy enjoyed proud pride grateful gratitude relieved relief hopeful content contented
    fear feared fearful afraid scared scary frightened frightening terrified terrifying terror
    horror horrified worried worry worrying anxious anxiety nervous panic panicked dread dreading
    alarmed alarming
    surprise surprised surprising surprisingly shock shocked shocking astonished astonishing
    amazed amazing amazement stunned startled speechless
    disgust disgusted disgusting revolted revolting repulsed repulsive gross sickened sickening
    nauseated nauseating vile appalled appalling
    embarrassed embarrassing ashamed shame jealous envious bored boredom
    """.split()
)
"""Words that name or plainly state an emotion. None may occur (as a word, in any case) in a
scenario or an event; neutral replies may not use them either."""


THEMES: tuple[dict, ...] = (
    # ------------------------------------------------------------------ Work/Job
    {
        "theme": "Work/Job",
        "prefix": "work",
        "groups": (
            {
                "kind": "document for review",
                "agents": (
                    "my manager",
                    "the team lead",
                    "the department head",
                    "my supervisor",
                    "the senior partner",
                    "the review committee",
                ),
                "things": (
                    "the project report",
                    "the quarterly budget",
                    "the sales proposal",
                    "the training manual",
                    "the product roadmap",
                    "the hiring plan",
                    "the market analysis",
                    "the safety checklist",
                    "the customer survey summary",
                ),
                "test_things": ("the onboarding guide", "the risk assessment"),
                "scenarios": (
                    "I finished {thing} and sent it to {agent} for review this morning",
                    "I spent the week preparing {thing} and handed it to {agent} on Friday afternoon",
                    "I presented {thing} to {agent} during the regular meeting yesterday",
                    "I updated {thing} with the latest figures and shared it with {agent} before lunch",
                    "I rewrote the summary section of {thing} and forwarded it to {agent} today",
                    "I submitted {thing} to {agent} a day before the agreed deadline",
                ),
                "test_scenarios": ("I walked {agent} through {thing} on a video call late this afternoon",),
                "outcomes": (
                    (
                        "{agent} approved {thing} without changes and asked me to present it at the company meeting.",
                        "{agent} looked over {thing} and added it to the list of items for the company meeting.",
                        "{agent} rejected {thing} outright and asked me to start over from scratch.",
                    ),
                    (
                        "{agent} called {thing} the best work the team had produced this year and shared it widely.",
                        "{agent} called {thing} complete and stored it with the other documents from this year.",
                        "{agent} called {thing} the weakest work the team had produced this year and sent it back.",
                    ),
                    (
                        "{agent} signed off on {thing} and gave me a bonus for the extra effort.",
                        "{agent} confirmed receipt of {thing} and said the formal review would happen next month.",
                        "{agent} refused to sign off on {thing} and noted the mistakes in my performance file.",
                    ),
                    (
                        "{agent} thanked me for {thing} in front of everyone and recommended me for a promotion.",
                        "{agent} mentioned {thing} briefly in the meeting and moved on to the next item.",
                        "{agent} criticised {thing} in front of everyone and questioned whether I was right for the job.",
                    ),
                    (
                        "{agent} forwarded {thing} to the directors as an example of how the work should be done.",
                        "{agent} forwarded {thing} to the archive along with the rest of the monthly paperwork.",
                        "{agent} forwarded {thing} to the directors as an example of the errors that keep slowing us down.",
                    ),
                    (
                        "{agent} used {thing} to win a major contract and credited me by name.",
                        "{agent} kept {thing} on file and said it might be used for a future contract.",
                        "{agent} blamed {thing} for losing a major contract and named me as responsible.",
                    ),
                ),
            },
            {
                "kind": "request to the employer",
                "agents": (
                    "human resources",
                    "my line manager",
                    "the operations director",
                    "the scheduling office",
                    "the head of department",
                    "the payroll team",
                ),
                "things": (
                    "my request for two weeks of leave",
                    "my application for the senior role",
                    "my request to work from home on Fridays",
                    "my request for a new laptop",
                    "my application for the training course",
                    "my request for a pay review",
                    "my request to change shifts",
                    "my request for a standing desk",
                    "my application for the internal transfer",
                ),
                "test_things": ("my request for a parking space", "my request for flexible hours"),
                "scenarios": (
                    "I submitted {thing} to {agent} through the online portal on Monday",
                    "I brought up {thing} with {agent} at the end of our weekly meeting",
                    "I sent {agent} a short email about {thing} after lunch today",
                    "I filled in the paperwork for {thing} and handed it to {agent} yesterday",
                    "I followed up with {agent} on {thing} after waiting for two weeks",
                    "I discussed {thing} with {agent} during my yearly performance review",
                ),
                "test_scenarios": ("I raised {thing} with {agent} in a short phone call this morning",),
                "outcomes": (
                    (
                        "{agent} approved {thing} the same day and said it would take effect right away.",
                        "{agent} logged {thing} and said a reply would follow within the usual ten working days.",
                        "{agent} turned down {thing} the same day and said it would not be reconsidered.",
                    ),
                    (
                        "{agent} granted {thing} and added a few extra benefits I had not asked for.",
                        "{agent} acknowledged {thing} and asked me to fill in one more standard form.",
                        "{agent} denied {thing} and took away a few benefits I already had.",
                    ),
                    (
                        "{agent} accepted {thing} and told the whole team about the decision.",
                        "{agent} put {thing} on hold until the new budget is confirmed next quarter.",
                        "{agent} rejected {thing} and told the whole team about the decision before telling me.",
                    ),
                    (
                        "{agent} fast-tracked {thing} and congratulated me on making such a strong case.",
                        "{agent} passed {thing} on to another office that handles such cases.",
                        "{agent} lost {thing} and said I would have to start the whole process again.",
                    ),
                    (
                        "{agent} said yes to {thing} and offered to cover the costs from the team budget.",
                        "{agent} said {thing} would be discussed at the next management meeting.",
                        "{agent} said no to {thing} and warned me not to ask again.",
                    ),
                    (
                        "{agent} approved {thing} and called me a model employee in the confirmation email.",
                        "{agent} confirmed receipt of {thing} in a short automated email.",
                        "{agent} refused {thing} and called me demanding in an email copied to my colleagues.",
                    ),
                ),
            },
        ),
    },
    # ------------------------------------------------------------------ School/Study
    {
        "theme": "School/Study",
        "prefix": "school",
        "groups": (
            {
                "kind": "coursework",
                "agents": (
                    "my teacher",
                    "the professor",
                    "my tutor",
                    "the course leader",
                    "the teaching assistant",
                    "my thesis supervisor",
                ),
                "things": (
                    "my history essay",
                    "my chemistry lab report",
                    "my final thesis chapter",
                    "my maths homework",
                    "my research poster",
                    "my literature review",
                    "my statistics coursework",
                    "my science fair project",
                    "my group project presentation",
                ),
                "test_things": ("my philosophy paper", "my economics case study"),
                "scenarios": (
                    "I handed in {thing} to {agent} just before the deadline on Friday",
                    "I spent the whole weekend finishing {thing} and submitted it to {agent} online",
                    "I presented {thing} to {agent} and the rest of the class this morning",
                    "I asked {agent} to look over {thing} during office hours yesterday",
                    "I made the final corrections to {thing} and emailed it to {agent} last night",
                    "I uploaded {thing} to the course website so that {agent} could grade it",
                ),
                "test_scenarios": ("I went through {thing} with {agent} in a short meeting after class",),
                "outcomes": (
                    (
                        "{agent} gave {thing} the highest grade in the class and asked to use it as an example.",
                        "{agent} gave {thing} an average grade and added a short list of standard comments.",
                        "{agent} gave {thing} a failing grade and asked me to repeat the whole module.",
                    ),
                    (
                        "{agent} returned {thing} with a top mark and a note saying it was outstanding work.",
                        "{agent} returned {thing} with a pass mark and a note about the formatting rules.",
                        "{agent} returned {thing} covered in red ink with a note saying it was far below the standard.",
                    ),
                    (
                        "{agent} recommended {thing} for a university award and invited me to join a research project.",
                        "{agent} recorded {thing} as received and said the grades would be posted next month.",
                        "{agent} reported {thing} for possible plagiarism and opened a formal investigation.",
                    ),
                    (
                        "{agent} showed {thing} to the class as a model of excellent work.",
                        "{agent} mentioned {thing} to the class as one of the many submissions received this week.",
                        "{agent} showed {thing} to the class as an example of what not to do.",
                    ),
                    (
                        "{agent} accepted {thing} early and excused me from the final exam.",
                        "{agent} accepted {thing} and reminded me that the final exam is still required.",
                        "{agent} refused to accept {thing} because of a missing page and marked it as not submitted.",
                    ),
                    (
                        "{agent} praised {thing} in the course newsletter and sent a copy to my parents.",
                        "{agent} listed {thing} in the course records next to the other submissions.",
                        "{agent} criticised {thing} in front of the whole class and sent a warning letter to my parents.",
                    ),
                ),
            },
            {
                "kind": "application to the school",
                "agents": (
                    "the admissions office",
                    "the student services office",
                    "the scholarship committee",
                    "the dean",
                    "the registrar",
                    "the faculty board",
                ),
                "things": (
                    "my scholarship application",
                    "my application to the master's program",
                    "my request for a deadline extension",
                    "my appeal against the exam grade",
                    "my request to change courses",
                    "my application for student housing",
                    "my request for a study abroad term",
                    "my application for the research assistant job",
                    "my request for a hardship grant",
                ),
                "test_things": ("my application to the exchange program", "my request for extra exam time"),
                "scenarios": (
                    "I submitted {thing} to {agent} after collecting all the required signatures",
                    "I handed {thing} to {agent} in person before the office closed on Friday",
                    "I sent {thing} to {agent} along with two supporting letters from my lecturers",
                    "I completed {thing} online and notified {agent} by email yesterday",
                    "I met with {agent} to go through {thing} a week before the deadline",
                    "I checked {thing} twice and delivered it to {agent} a week early",
                ),
                "test_scenarios": ("I called {agent} this afternoon to confirm the arrival of {thing}",),
                "outcomes": (
                    (
                        "{agent} accepted {thing} in full and sent me a letter of congratulations.",
                        "{agent} registered {thing} and sent me a letter with a reference number.",
                        "{agent} rejected {thing} in full and sent me a letter without any explanation.",
                    ),
                    (
                        "{agent} approved {thing} within a day and waived all the usual fees.",
                        "{agent} reviewed {thing} and said the usual fees still apply while it is processed.",
                        "{agent} declined {thing} after a day and charged me the usual fees anyway.",
                    ),
                    (
                        "{agent} granted {thing} and said my record was one of the strongest they had seen.",
                        "{agent} noted {thing} and said my record would be checked as part of the normal process.",
                        "{agent} refused {thing} and said my record was one of the weakest they had seen.",
                    ),
                    (
                        "{agent} moved {thing} to the top of the list and confirmed it by phone.",
                        "{agent} placed {thing} in the queue and said to expect an answer by post.",
                        "{agent} moved {thing} to the bottom of the list and later said it had been lost.",
                    ),
                    (
                        "{agent} approved {thing} and arranged a meeting to help me plan the next steps.",
                        "{agent} forwarded {thing} to a committee that meets at the end of the term.",
                        "{agent} dismissed {thing} and refused to arrange a meeting to discuss the decision.",
                    ),
                    (
                        "{agent} called {thing} a model submission and approved it on the spot.",
                        "{agent} called {thing} complete and said a decision would be made in the spring.",
                        "{agent} called {thing} careless and rejected it on the spot.",
                    ),
                ),
            },
        ),
    },
    # ------------------------------------------------------------------ Family
    {
        "theme": "Family",
        "prefix": "family",
        "groups": (
            {
                "kind": "handmade gift",
                "agents": (
                    "my mother",
                    "my father",
                    "my grandmother",
                    "my brother",
                    "my sister",
                    "my uncle",
                ),
                "things": (
                    "the birthday cake",
                    "the family photo album",
                    "the handmade quilt",
                    "the framed family tree",
                    "the knitted scarf",
                    "the wooden toy chest",
                    "the recipe book",
                    "the painted portrait",
                    "the scrapbook of old letters",
                ),
                "test_things": ("the jar of homemade jam", "the painted birdhouse"),
                "scenarios": (
                    "I spent two evenings making {thing} and gave it to {agent} after dinner",
                    "I prepared {thing} for {agent} and brought it to the family gathering on Saturday",
                    "I finished {thing} and showed it to {agent} during a visit last weekend",
                    "I brought {thing} over to {agent} on the way home from work",
                    "I worked on {thing} for weeks and presented it to {agent} at the reunion",
                    "I delivered {thing} to {agent} in person on the morning of the celebration",
                ),
                "test_scenarios": ("I wrapped {thing} carefully and handed it to {agent} at the front door",),
                "outcomes": (
                    (
                        "{agent} held up {thing} for everyone to see and called it the best gift in years.",
                        "{agent} looked at {thing} for a moment and put it on the side table with the other gifts.",
                        "{agent} barely looked at {thing} and said it was a waste of money and time.",
                    ),
                    (
                        "{agent} placed {thing} in the middle of the living room and showed it to every visitor.",
                        "{agent} placed {thing} in a cupboard in the hallway and went back to the conversation.",
                        "{agent} pushed {thing} aside and said I should have bought something from a shop instead.",
                    ),
                    (
                        "{agent} phoned the whole family to tell them about {thing} and asked me to make another.",
                        "{agent} mentioned {thing} to the family on the phone and asked what time dinner would be.",
                        "{agent} complained to the whole family about {thing} and asked me never to make another.",
                    ),
                    (
                        "{agent} thanked me for {thing} with a long hug and a handwritten card.",
                        "{agent} thanked me for {thing} with a quick nod and changed the subject.",
                        "{agent} handed {thing} back to me and said there was no room for it in the house.",
                    ),
                    (
                        "{agent} said {thing} would become a family treasure and planned to pass it down.",
                        "{agent} said {thing} would go in the storage room with the other family things.",
                        "{agent} gave {thing} away to a neighbour the very next day without telling me.",
                    ),
                    (
                        "{agent} kept {thing} close all evening and told me it meant the world.",
                        "{agent} accepted {thing} and asked whether I had remembered to buy bread.",
                        "{agent} pointed out every flaw in {thing} and compared it unfavourably to last year's gift.",
                    ),
                ),
            },
            {
                "kind": "family plan",
                "agents": (
                    "my parents",
                    "my mother",
                    "my grandfather",
                    "my older brother",
                    "my aunt",
                    "my sister",
                ),
                "things": (
                    "my plan for the summer holiday",
                    "my idea for the reunion venue",
                    "my suggestion to share the caring duties",
                    "my budget for the family trip",
                    "my proposal for the holiday rota",
                    "the guest list for the wedding",
                    "my plan to move back home for a year",
                    "my idea to renovate the old kitchen together",
                    "my schedule for the weekend visits",
                ),
                "test_things": ("my plan for the christening party", "my suggestion for the anniversary trip"),
                "scenarios": (
                    "I explained {thing} to {agent} over the phone on Sunday evening",
                    "I wrote down {thing} and sent it to {agent} in the family group chat",
                    "I brought up {thing} with {agent} during the family dinner last night",
                    "I spent an hour going through {thing} with {agent} at the kitchen table",
                    "I asked {agent} for an opinion on {thing} before telling the rest of the family",
                    "I printed out {thing} and handed a copy to {agent} after breakfast",
                ),
                "test_scenarios": ("I described {thing} to {agent} on a long video call this weekend",),
                "outcomes": (
                    (
                        "{agent} agreed to {thing} straight away and offered to help organise everything.",
                        "{agent} listened to {thing} and said it could be discussed again next month.",
                        "{agent} dismissed {thing} straight away and refused to help with anything.",
                    ),
                    (
                        "{agent} called {thing} a brilliant idea and told the family to support it.",
                        "{agent} called {thing} one option and said the rest of the family should decide.",
                        "{agent} called {thing} a ridiculous idea and told the family to ignore it.",
                    ),
                    (
                        "{agent} backed {thing} fully and offered to pay for half of the costs.",
                        "{agent} took note of {thing} and asked for a list of the expected costs.",
                        "{agent} rejected {thing} and said I would have to pay for everything myself.",
                    ),
                    (
                        "{agent} shared {thing} with the whole family, and everyone agreed to it at once.",
                        "{agent} forwarded {thing} to the whole family and asked everyone to reply by Friday.",
                        "{agent} shared {thing} with the whole family and made fun of it at dinner.",
                    ),
                    (
                        "{agent} thanked me for putting so much thought into {thing} and approved it.",
                        "{agent} read through {thing} and said there were a few details still to check.",
                        "{agent} accused me of not thinking {thing} through and cancelled it.",
                    ),
                    (
                        "{agent} said {thing} solved a problem that had troubled the family for years.",
                        "{agent} said {thing} was one of several options the family was considering.",
                        "{agent} said {thing} would split the family apart and refused to speak about it.",
                    ),
                ),
            },
        ),
    },
    # ------------------------------------------------------------------ Friends/Social
    {
        "theme": "Friends/Social",
        "prefix": "friends",
        "groups": (
            {
                "kind": "social event I organised",
                "agents": (
                    "my friends",
                    "my best friend",
                    "my roommate",
                    "my old classmates",
                    "the people from my choir",
                    "my friend group",
                ),
                "things": (
                    "the board game night",
                    "the birthday party",
                    "the picnic in the park",
                    "the weekend camping trip",
                    "the karaoke evening",
                    "the reunion dinner",
                    "the movie marathon",
                    "the beach day",
                    "the escape room outing",
                ),
                "test_things": ("the cooking class evening", "the bowling night"),
                "scenarios": (
                    "I organised {thing} and sent the invitation to {agent} last Monday",
                    "I planned {thing} for weeks and invited {agent} to join",
                    "I booked everything for {thing} and shared the details with {agent} yesterday",
                    "I offered to host {thing} at my flat and told {agent} about it",
                    "I put together a schedule for {thing} and posted it for {agent} in the group chat",
                    "I suggested {thing} to {agent} as a way to meet up this month",
                ),
                "test_scenarios": ("I arranged {thing} for Saturday and messaged {agent} with the final plan",),
                "outcomes": (
                    (
                        "{agent} showed up early for {thing} and said it was the best time in months.",
                        "{agent} showed up on time for {thing} and left at the planned hour.",
                        "{agent} skipped {thing} without a word and posted photos from another party instead.",
                    ),
                    (
                        "{agent} called {thing} a huge success and asked me to organise the next one.",
                        "{agent} called {thing} fine and asked whether the next one could be on a weekday.",
                        "{agent} called {thing} a complete failure and asked someone else to organise the next one.",
                    ),
                    (
                        "{agent} turned up for {thing} with gifts for me and stayed until the very end.",
                        "{agent} turned up for {thing} for an hour and then went home as planned.",
                        "{agent} turned up for {thing} two hours late and spent the whole time on the phone.",
                    ),
                    (
                        "{agent} shared photos from {thing} online and thanked me in every caption.",
                        "{agent} shared a single photo from {thing} online without any caption.",
                        "{agent} mocked {thing} online and tagged me in every post.",
                    ),
                    (
                        "{agent} confirmed {thing} within minutes and offered to bring food for everyone.",
                        "{agent} confirmed {thing} after a few days and asked what to bring.",
                        "{agent} cancelled {thing} at the last minute and left me with all the food.",
                    ),
                    (
                        "{agent} told everyone that {thing} brought the whole group closer together.",
                        "{agent} told everyone that {thing} would take place as scheduled.",
                        "{agent} told everyone that {thing} was pointless and a waste of a weekend.",
                    ),
                ),
            },
            {
                "kind": "item lent to a friend",
                "agents": (
                    "my friend",
                    "my best friend",
                    "my flatmate",
                    "an old school friend",
                    "a friend from the gym",
                    "my childhood friend",
                ),
                "things": (
                    "my camping tent",
                    "my bicycle",
                    "my winter coat",
                    "my camera",
                    "my guitar",
                    "my board game collection",
                    "my car",
                    "my suitcase",
                    "my sewing machine",
                ),
                "test_things": ("my power drill", "my projector"),
                "scenarios": (
                    "I lent {thing} to {agent} for the weekend and agreed to get it back on Monday",
                    "I let {agent} borrow {thing} for a short trip out of town",
                    "I dropped off {thing} with {agent} so it could be used for a week",
                    "I offered {agent} the use of {thing} during the house move last month",
                    "I handed {thing} over to {agent} after work and explained how to use it",
                    "I agreed to lend {thing} to {agent} for the whole of the school holidays",
                ),
                "test_scenarios": ("I left {thing} with {agent} while I was away on a business trip",),
                "outcomes": (
                    (
                        "{agent} returned {thing} cleaned and in better shape, along with a small gift.",
                        "{agent} returned {thing} on the agreed day in the same condition as before.",
                        "{agent} returned {thing} broken and refused to pay for the repair.",
                    ),
                    (
                        "{agent} brought back {thing} early and offered to return the favour anytime.",
                        "{agent} brought back {thing} a day late and put it by the door.",
                        "{agent} lost {thing} and stopped answering my messages.",
                    ),
                    (
                        "{agent} took great care of {thing} and even fixed a problem it had before.",
                        "{agent} used {thing} as planned and mentioned nothing special about it.",
                        "{agent} damaged {thing} and claimed it was already like that.",
                    ),
                    (
                        "{agent} returned {thing} with a long note of thanks and a voucher for dinner.",
                        "{agent} returned {thing} with a short text saying it was back.",
                        "{agent} sold {thing} online without asking me and kept the money.",
                    ),
                    (
                        "{agent} told all our friends how generous it was of me to lend {thing}.",
                        "{agent} told me that {thing} had been put back in my hallway.",
                        "{agent} told all our friends that {thing} was junk and not worth borrowing.",
                    ),
                    (
                        "{agent} gave back {thing} and invited me to dinner as a thank you.",
                        "{agent} gave back {thing} and asked to borrow it again next month.",
                        "{agent} kept {thing} for months and only gave it back after I asked five times.",
                    ),
                ),
            },
        ),
    },
    # ------------------------------------------------------------------ Health/Fitness
    {
        "theme": "Health/Fitness",
        "prefix": "health",
        "groups": (
            {
                "kind": "medical test",
                "agents": (
                    "my doctor",
                    "the nurse",
                    "the specialist",
                    "the clinic",
                    "my family doctor",
                    "the hospital",
                ),
                "things": (
                    "my blood test",
                    "the scan of my knee",
                    "my yearly check-up",
                    "my cholesterol test",
                    "the x-ray of my wrist",
                    "my eye examination",
                    "my hearing test",
                    "the allergy test",
                    "my blood pressure check",
                ),
                "test_things": ("the skin biopsy", "my lung function test"),
                "scenarios": (
                    "I went to {agent} this morning for {thing} and waited for the results",
                    "I booked {thing} with {agent} last month and went in for it today",
                    "I arrived early for {thing} and filled in the forms that {agent} sent",
                    "I called {agent} this afternoon to ask about {thing} from last week",
                    "I took time off work for {thing} and met with {agent} afterwards",
                    "I finally went through with {thing} after {agent} recommended it in the spring",
                ),
                "test_scenarios": ("I sat in the waiting room for an hour before {thing} with {agent}",),
                "outcomes": (
                    (
                        "{agent} said {thing} came back completely clear and no further visits were needed.",
                        "{agent} said {thing} came back within the normal range and booked the usual follow-up.",
                        "{agent} said {thing} showed a serious problem and booked me in for surgery next week.",
                    ),
                    (
                        "{agent} reviewed {thing} and said my health had improved a great deal since last year.",
                        "{agent} reviewed {thing} and said my health was about the same as last year.",
                        "{agent} reviewed {thing} and said my health had declined sharply since last year.",
                    ),
                    (
                        "{agent} explained that {thing} ruled out the illness we had been testing for.",
                        "{agent} explained that {thing} would need to be compared with another test in six months.",
                        "{agent} explained that {thing} confirmed the illness we had been testing for.",
                    ),
                    (
                        "{agent} called to say {thing} showed the treatment was working better than expected.",
                        "{agent} called to say {thing} had arrived and would be discussed at my next visit.",
                        "{agent} called to say {thing} showed the treatment had stopped working.",
                    ),
                    (
                        "{agent} told me {thing} was the best result in my file and stopped the medication.",
                        "{agent} told me {thing} was on file and the medication would stay the same.",
                        "{agent} told me {thing} was the worst result in my file and doubled the medication.",
                    ),
                    (
                        "{agent} went over {thing} and said I could return to sport straight away.",
                        "{agent} went over {thing} and said to keep to the current routine for now.",
                        "{agent} went over {thing} and said I would have to give up sport for good.",
                    ),
                ),
            },
            {
                "kind": "fitness trial",
                "agents": (
                    "my personal trainer",
                    "the coach",
                    "the running club",
                    "the gym instructor",
                    "my training partner",
                    "the club captain",
                ),
                "things": (
                    "my first half marathon",
                    "my fitness assessment",
                    "the strength test",
                    "the swimming trial",
                    "the cycling time trial",
                    "the team tryout",
                    "the endurance test",
                    "my first triathlon",
                    "the club qualifying race",
                ),
                "test_things": ("the rowing trial", "the climbing assessment"),
                "scenarios": (
                    "I trained for months for {thing} and completed it this morning with {agent} watching",
                    "I finished {thing} yesterday and sent my results to {agent}",
                    "I went through {thing} at the sports centre while {agent} kept the time",
                    "I took part in {thing} after {agent} signed me up for it",
                    "I prepared for {thing} by following the schedule {agent} gave me",
                    "I completed {thing} on Saturday and met {agent} afterwards to go over the numbers",
                ),
                "test_scenarios": ("I attempted {thing} for the second time this year with {agent} at my side",),
                "outcomes": (
                    (
                        "{agent} said {thing} was a personal best and picked me for the regional team.",
                        "{agent} said {thing} matched my usual level and noted the time in my log.",
                        "{agent} said {thing} was my worst result yet and dropped me from the regional team.",
                    ),
                    (
                        "{agent} checked the numbers from {thing} and said I had beaten the club record.",
                        "{agent} checked the numbers from {thing} and said they were close to the club average.",
                        "{agent} checked the numbers from {thing} and said I had finished last in the club.",
                    ),
                    (
                        "{agent} posted my result from {thing} on the club board as an example for the others.",
                        "{agent} added my result from {thing} to the club records with everyone else's results.",
                        "{agent} posted my result from {thing} on the club board as a warning to the others.",
                    ),
                    (
                        "{agent} told me {thing} qualified me for the national championship next spring.",
                        "{agent} told me {thing} would count as one of the three attempts required this season.",
                        "{agent} told me {thing} disqualified me from competing for the rest of the season.",
                    ),
                    (
                        "{agent} congratulated me after {thing} and offered free coaching for the next year.",
                        "{agent} spoke with me briefly after {thing} and handed me the usual feedback sheet.",
                        "{agent} ignored me after {thing} and gave my place to someone else.",
                    ),
                    (
                        "{agent} said {thing} showed more progress than anyone had made this year.",
                        "{agent} said {thing} showed steady progress in line with the plan.",
                        "{agent} said {thing} showed no progress at all and questioned my commitment.",
                    ),
                ),
            },
        ),
    },
    # ------------------------------------------------------------------ Home/Housing
    {
        "theme": "Home/Housing",
        "prefix": "home",
        "groups": (
            {
                "kind": "repair reported to the landlord",
                "agents": (
                    "my landlord",
                    "the letting agent",
                    "the building manager",
                    "the housing association",
                    "the caretaker",
                    "the property manager",
                ),
                "things": (
                    "the leaking kitchen tap",
                    "the broken boiler",
                    "the cracked bathroom window",
                    "the faulty front door lock",
                    "the damp patch in the bedroom",
                    "the broken radiator",
                    "the blocked shower drain",
                    "the loose stair railing",
                    "the noisy extractor fan",
                ),
                "test_things": ("the flickering hallway light", "the jammed garage door"),
                "scenarios": (
                    "I reported {thing} to {agent} by email on Monday morning",
                    "I took photos of {thing} and sent them to {agent} yesterday evening",
                    "I filled in the online repair form about {thing} and copied in {agent}",
                    "I phoned {agent} today to ask when {thing} would be fixed",
                    "I showed {thing} to {agent} during the yearly inspection of the flat",
                    "I wrote a formal letter to {agent} about {thing} after waiting three weeks",
                ),
                "test_scenarios": ("I left a message for {agent} about {thing} with the front desk",),
                "outcomes": (
                    (
                        "{agent} sent someone to fix {thing} the same afternoon and covered every cost.",
                        "{agent} logged {thing} and said a repair would be scheduled in the usual order.",
                        "{agent} refused to fix {thing} and said the cost would come out of my deposit.",
                    ),
                    (
                        "{agent} replaced {thing} with a brand new one and lowered my rent for the trouble.",
                        "{agent} inspected {thing} and said a contractor would visit sometime next month.",
                        "{agent} ignored {thing} for weeks and then raised my rent.",
                    ),
                    (
                        "{agent} apologised for {thing} and arranged a full upgrade of the flat at no cost.",
                        "{agent} confirmed {thing} was on the maintenance list for the next quarter.",
                        "{agent} blamed me for {thing} and threatened to end my tenancy.",
                    ),
                    (
                        "{agent} fixed {thing} personally within an hour and checked the rest of the flat too.",
                        "{agent} looked at {thing} briefly and said a second visit would be needed.",
                        "{agent} made {thing} worse during a rushed repair and then stopped answering calls.",
                    ),
                    (
                        "{agent} thanked me for reporting {thing} and took a month off my rent.",
                        "{agent} thanked me for reporting {thing} and asked for access on Thursday.",
                        "{agent} charged me a call-out fee for reporting {thing} and did nothing about it.",
                    ),
                    (
                        "{agent} sorted out {thing} properly and sent a note calling me the best tenant in the building.",
                        "{agent} sent a standard note saying {thing} had been added to the repair list.",
                        "{agent} sent a note saying {thing} was my own fault and I would pay for it.",
                    ),
                ),
            },
            {
                "kind": "home improvement shown to the household",
                "agents": (
                    "my partner",
                    "my housemates",
                    "my flatmate",
                    "my husband",
                    "my wife",
                    "my roommates",
                ),
                "things": (
                    "the living room makeover",
                    "the kitchen reorganisation",
                    "the new garden shed",
                    "the bathroom retiling",
                    "the built-in bookshelf",
                    "the attic clear-out",
                    "the new vegetable patch",
                    "the hallway renovation",
                    "the new wardrobe",
                ),
                "test_things": ("the front fence repair", "the loft insulation"),
                "scenarios": (
                    "I spent the whole weekend on {thing} and showed it to {agent} on Sunday evening",
                    "I finished {thing} on my own and asked {agent} to come and see it",
                    "I worked on {thing} every evening this week and invited {agent} to have a look",
                    "I completed {thing} with materials I bought myself and pointed it out to {agent} after dinner",
                    "I took a day off to finish {thing} and sent a photo of it to {agent}",
                    "I put the final touches on {thing} this morning and called {agent} in to see it",
                ),
                "test_scenarios": ("I wrapped up {thing} late last night and walked {agent} through it this morning",),
                "outcomes": (
                    (
                        "{agent} walked around {thing} twice and said it looked like professional work.",
                        "{agent} glanced at {thing} and said it matched what we had discussed.",
                        "{agent} walked around {thing} and pointed out that it had to be redone completely.",
                    ),
                    (
                        "{agent} took photos of {thing} to show everyone and asked for help with a similar project.",
                        "{agent} took a photo of {thing} for the house records and went back to work.",
                        "{agent} took photos of {thing} to show everyone how badly it had gone wrong.",
                    ),
                    (
                        "{agent} said {thing} had added real value to the house.",
                        "{agent} said {thing} would not change the value of the house much.",
                        "{agent} said {thing} had lowered the value of the house and would be costly to undo.",
                    ),
                    (
                        "{agent} paid me back for all the materials for {thing} and cooked dinner to celebrate.",
                        "{agent} asked for the receipts for {thing} so the costs could be split.",
                        "{agent} refused to pay anything toward {thing} and called it a waste of money.",
                    ),
                    (
                        "{agent} said {thing} was exactly what the house needed and thanked me all evening.",
                        "{agent} said {thing} was done and asked what the next job on the list was.",
                        "{agent} said {thing} had ruined the look of the house and wanted it removed.",
                    ),
                    (
                        "{agent} invited the neighbours over to see {thing} and gave me all the credit.",
                        "{agent} mentioned {thing} to the neighbours in passing during a short chat over the fence.",
                        "{agent} complained to the neighbours about {thing} and said I had no idea what I was doing.",
                    ),
                ),
            },
        ),
    },
    # ------------------------------------------------------------------ Travel/Transport
    {
        "theme": "Travel/Transport",
        "prefix": "travel",
        "groups": (
            {
                "kind": "booking or claim with a travel company",
                "agents": (
                    "the travel agency",
                    "the booking website",
                    "the tour operator",
                    "customer service",
                    "the airline",
                    "the travel company",
                ),
                "things": (
                    "my booking for the summer trip",
                    "my claim for the delayed luggage",
                    "my seat reservation for the long flight",
                    "my change to the return date",
                    "my compensation claim for the delay",
                    "my request for a refund",
                    "my request for extra legroom",
                    "my group booking for the company retreat",
                    "my request to add a second passenger",
                ),
                "test_things": ("my request for a special meal", "my booking for the winter holiday"),
                "scenarios": (
                    "I submitted {thing} to {agent} through their website on Tuesday",
                    "I called {agent} about {thing} and waited on hold for forty minutes",
                    "I sent {agent} all the documents for {thing} by email this morning",
                    "I followed up with {agent} on {thing} after hearing nothing for a week",
                    "I spoke to {agent} at the service desk about {thing} before my trip",
                    "I filled in the online form for {thing} and received a reference number from {agent}",
                ),
                "test_scenarios": ("I wrote to {agent} about {thing} using the contact form in the app",),
                "outcomes": (
                    (
                        "{agent} approved {thing} within the hour and added a free upgrade as well.",
                        "{agent} received {thing} and said it would be handled within fourteen days.",
                        "{agent} rejected {thing} within the hour and charged an extra fee as well.",
                    ),
                    (
                        "{agent} confirmed {thing} and sent a voucher worth twice the original amount.",
                        "{agent} confirmed {thing} and sent a standard email with the terms and conditions.",
                        "{agent} cancelled {thing} by mistake and refused to put it back.",
                    ),
                    (
                        "{agent} handled {thing} personally and called to make sure everything was in order.",
                        "{agent} passed {thing} to another department and gave me a new reference number.",
                        "{agent} lost all record of {thing} and told me to start again from the beginning.",
                    ),
                    (
                        "{agent} accepted {thing} in full and refunded every cost without further questions.",
                        "{agent} accepted {thing} for review and asked for a copy of my ticket.",
                        "{agent} refused {thing} in full and said no refund would ever be paid.",
                    ),
                    (
                        "{agent} sorted out {thing} in minutes and sent a gift card to thank me for my patience.",
                        "{agent} noted {thing} in my file and said someone would be in touch.",
                        "{agent} closed {thing} without a reply and blocked my account for a month.",
                    ),
                    (
                        "{agent} processed {thing} ahead of schedule and gave me priority service for the next year.",
                        "{agent} processed {thing} on the standard schedule and sent the usual confirmation.",
                        "{agent} processed {thing} wrongly and billed me for a trip I never booked.",
                    ),
                ),
            },
            {
                "kind": "ticket check on local transport",
                "agents": (
                    "the ticket inspector",
                    "the conductor",
                    "the station staff",
                    "the bus driver",
                    "the ticket office clerk",
                    "the transport officer",
                ),
                "things": (
                    "my monthly travel pass",
                    "my printed train ticket",
                    "my student travel card",
                    "my day ticket for the tram",
                    "my season ticket",
                    "my rail discount card",
                    "my weekly bus pass",
                    "my return ticket to the city",
                    "my off-peak travel card",
                ),
                "test_things": ("my mobile ticket in the app", "my group travel ticket"),
                "scenarios": (
                    "I showed {thing} to {agent} as I got on this morning",
                    "I handed {thing} to {agent} for a routine check on the way to work",
                    "I asked {agent} whether {thing} was valid for the new route into town",
                    "I renewed {thing} online last night and presented it to {agent} today",
                    "I held up {thing} for {agent} during the ticket check on my way home",
                    "I bought {thing} at the machine and checked it with {agent} before travelling",
                ),
                "test_scenarios": ("I scanned {thing} at the gate and then showed it to {agent} as well",),
                "outcomes": (
                    (
                        "{agent} checked {thing} and told me it included free travel for the rest of the month.",
                        "{agent} checked {thing} and handed it back without saying anything.",
                        "{agent} checked {thing} and fined me on the spot for a mistake on the date.",
                    ),
                    (
                        "{agent} looked at {thing} and said it was valid on every route in the region.",
                        "{agent} looked at {thing} and said it was valid on the usual route only.",
                        "{agent} looked at {thing} and said it was invalid and ordered me off at the next stop.",
                    ),
                    (
                        "{agent} noticed I had been overcharged for {thing} and arranged a full refund right away.",
                        "{agent} noticed {thing} was due for renewal and gave me a leaflet about the prices.",
                        "{agent} noticed a small tear in {thing} and confiscated it in front of the other passengers.",
                    ),
                    (
                        "{agent} accepted {thing} and upgraded it to a yearly pass as part of a loyalty offer.",
                        "{agent} accepted {thing} and reminded me to keep it with me at all times.",
                        "{agent} refused {thing} and made me buy a new ticket at full price.",
                    ),
                    (
                        "{agent} scanned {thing} and said I had won a free month of travel in the monthly draw.",
                        "{agent} scanned {thing} and said the check was complete.",
                        "{agent} scanned {thing} and reported it as stolen to the transport police.",
                    ),
                    (
                        "{agent} returned {thing} with a free voucher to make up for the delays this week.",
                        "{agent} returned {thing} after writing down the number for the records.",
                        "{agent} kept {thing} and wrote down my details for a court summons.",
                    ),
                ),
            },
        ),
    },
    # ------------------------------------------------------------------ Hobbies/Leisure
    {
        "theme": "Hobbies/Leisure",
        "prefix": "hobby",
        "groups": (
            {
                "kind": "creative work entered in a show",
                "agents": (
                    "the judges",
                    "the club members",
                    "the gallery owner",
                    "the contest organisers",
                    "my art teacher",
                    "the show committee",
                ),
                "things": (
                    "my watercolour painting",
                    "my short story",
                    "my clay vase",
                    "my photo of the harbour",
                    "my knitted blanket",
                    "my song recording",
                    "my poem about the sea",
                    "my model railway layout",
                    "my woodcarving of an owl",
                ),
                "test_things": ("my bonsai tree", "my stained-glass panel"),
                "scenarios": (
                    "I entered {thing} in the town competition and handed it to {agent} on Saturday",
                    "I worked on {thing} for three months and submitted it to {agent} last week",
                    "I showed {thing} to {agent} at the monthly hobby club meeting",
                    "I put the final touches on {thing} and brought it to {agent} for feedback",
                    "I brought {thing} to the community centre for {agent} to review",
                    "I presented {thing} to {agent} at the open day of the arts centre",
                ),
                "test_scenarios": ("I displayed {thing} at the summer fair where {agent} went around the stalls",),
                "outcomes": (
                    (
                        "{agent} awarded {thing} first prize and asked to display it at the town hall.",
                        "{agent} gave {thing} a certificate of participation like every other entry.",
                        "{agent} disqualified {thing} and said it broke the competition rules.",
                    ),
                    (
                        "{agent} described {thing} as the finest entry in years and offered to buy it.",
                        "{agent} described {thing} as a standard entry and placed it with the others.",
                        "{agent} described {thing} as the poorest entry in years and removed it from the show.",
                    ),
                    (
                        "{agent} chose {thing} for the cover of the annual magazine and paid me a fee.",
                        "{agent} listed {thing} in the annual catalogue among all the other entries.",
                        "{agent} chose {thing} as an example of poor work in the annual review.",
                    ),
                    (
                        "{agent} asked me to run a workshop on how I made {thing}.",
                        "{agent} asked me a few routine questions about how I made {thing}.",
                        "{agent} accused me of copying {thing} from someone else and banned me from entering again.",
                    ),
                    (
                        "{agent} put {thing} in the place of honour at the exhibition and invited the press to see it.",
                        "{agent} put {thing} in a corner of the exhibition next to the fire exit.",
                        "{agent} left {thing} out in the rain by mistake and refused to take responsibility.",
                    ),
                    (
                        "{agent} praised {thing} in the local paper and invited me to join the advanced group.",
                        "{agent} noted {thing} in the club minutes and moved on to other business.",
                        "{agent} criticised {thing} in the local paper and suggested I take up another hobby.",
                    ),
                ),
            },
            {
                "kind": "performance",
                "agents": (
                    "the choir director",
                    "the band leader",
                    "the theatre director",
                    "the drama group",
                    "the club organiser",
                    "the talent show panel",
                ),
                "things": (
                    "my audition piece",
                    "my solo in the spring concert",
                    "my part in the community play",
                    "my stand-up comedy set",
                    "my dance routine",
                    "my magic show",
                    "my guitar solo",
                    "my reading at the poetry night",
                    "my tap dance number",
                ),
                "test_things": ("my piano recital", "my juggling act"),
                "scenarios": (
                    "I performed {thing} in front of {agent} at the community hall on Friday",
                    "I practised {thing} every evening for a month before showing it to {agent}",
                    "I recorded {thing} on video and sent it to {agent} for an honest opinion",
                    "I went through {thing} for {agent} during the open rehearsal this afternoon",
                    "I signed up to do {thing} at the club night organised by {agent}",
                    "I finished {thing} in front of {agent} and a small audience yesterday evening",
                ),
                "test_scenarios": ("I rehearsed {thing} one last time with {agent} before the public show",),
                "outcomes": (
                    (
                        "{agent} gave {thing} a standing ovation and offered me the lead role next season.",
                        "{agent} watched {thing} and offered me a place in the back row next season.",
                        "{agent} stopped {thing} halfway through and said I would not be needed next season.",
                    ),
                    (
                        "{agent} said {thing} was the highlight of the whole evening.",
                        "{agent} said {thing} was one of many acts on the evening programme.",
                        "{agent} said {thing} was the low point of the whole evening.",
                    ),
                    (
                        "{agent} recorded {thing} and shared it on the club website as the best act of the year.",
                        "{agent} recorded {thing} for the club archive along with every other act.",
                        "{agent} recorded {thing} and played it at the club party as a joke.",
                    ),
                    (
                        "{agent} booked {thing} for the big summer festival and offered to pay me.",
                        "{agent} kept {thing} on the waiting list for the summer festival.",
                        "{agent} dropped {thing} from the summer festival without telling me.",
                    ),
                    (
                        "{agent} asked me to teach {thing} to the younger members of the club.",
                        "{agent} asked me to repeat {thing} once more so the timing could be checked.",
                        "{agent} asked me to stop doing {thing} because it made the club look bad.",
                    ),
                    (
                        "{agent} praised {thing} to the audience and handed me the award for best newcomer.",
                        "{agent} introduced {thing} to the audience and read out the next name on the list.",
                        "{agent} mocked {thing} in front of the audience and handed the award to someone else.",
                    ),
                ),
            },
        ),
    },
    # ------------------------------------------------------------------ Money/Shopping
    {
        "theme": "Money/Shopping",
        "prefix": "money",
        "groups": (
            {
                "kind": "faulty purchase returned to a shop",
                "agents": (
                    "the shop",
                    "the store manager",
                    "customer support",
                    "the online retailer",
                    "the seller",
                    "the shop assistant",
                ),
                "things": (
                    "the faulty washing machine",
                    "the broken laptop charger",
                    "the jacket in the wrong size",
                    "the scratched dining table",
                    "the coffee machine that stopped working",
                    "the damaged bookcase",
                    "the headphones with a loose cable",
                    "the pair of torn winter boots",
                    "the vacuum cleaner that kept cutting out",
                ),
                "test_things": ("the faulty electric kettle", "the wobbly office chair"),
                "scenarios": (
                    "I returned {thing} to {agent} with the receipt and asked for a refund",
                    "I contacted {agent} about {thing} three days after the delivery",
                    "I brought {thing} back to {agent} and explained the problem at the counter",
                    "I filled in the returns form for {thing} and sent it to {agent} with photos",
                    "I wrote a polite message to {agent} about {thing} this morning",
                    "I packed up {thing} and arranged for {agent} to collect it from my home",
                ),
                "test_scenarios": ("I explained the issue with {thing} to {agent} in a live chat yesterday",),
                "outcomes": (
                    (
                        "{agent} replaced {thing} the same day and added a voucher for my next purchase.",
                        "{agent} registered {thing} and said a technician would assess it within two weeks.",
                        "{agent} refused to take back {thing} and said the damage was my own fault.",
                    ),
                    (
                        "{agent} refunded {thing} in full and let me keep a free accessory as well.",
                        "{agent} refunded part of the cost of {thing} as the standard policy requires.",
                        "{agent} refused any refund for {thing} and charged me a handling fee.",
                    ),
                    (
                        "{agent} swapped {thing} for the newest model at no extra cost.",
                        "{agent} swapped {thing} for an identical model from the warehouse.",
                        "{agent} sent back {thing} unrepaired and kept the repair fee anyway.",
                    ),
                    (
                        "{agent} apologised for {thing} and offered free delivery for the whole year.",
                        "{agent} sent a standard reply about {thing} with a copy of the returns policy.",
                        "{agent} ignored every message about {thing} and closed my case without a reply.",
                    ),
                    (
                        "{agent} collected {thing} within an hour and sent the refund the same evening.",
                        "{agent} collected {thing} on the scheduled day and gave me a receipt.",
                        "{agent} never collected {thing} and then said the return period had expired.",
                    ),
                    (
                        "{agent} fixed {thing} for free and extended the warranty by three years.",
                        "{agent} looked at {thing} and said the warranty covers only the standard repair.",
                        "{agent} said the warranty on {thing} was void and the repair would cost a fortune.",
                    ),
                ),
            },
            {
                "kind": "banking request",
                "agents": (
                    "the bank",
                    "my bank adviser",
                    "the loan officer",
                    "the branch manager",
                    "the credit team",
                    "the account services team",
                ),
                "things": (
                    "my mortgage application",
                    "my loan request",
                    "my request to raise the credit limit",
                    "my savings account application",
                    "my dispute about a double charge",
                    "my application for a business account",
                    "my request to pause loan payments",
                    "my overdraft request",
                    "my card replacement request",
                ),
                "test_things": ("my request to merge two accounts", "my car loan application"),
                "scenarios": (
                    "I submitted {thing} to {agent} with three months of payslips",
                    "I met {agent} at the local branch to discuss {thing} this morning",
                    "I completed {thing} in the banking app and sent a message to {agent}",
                    "I called {agent} to check on the status of {thing} after a week",
                    "I sent {agent} the last documents needed for {thing} before the weekend",
                    "I went through {thing} line by line with {agent} on a video call",
                ),
                "test_scenarios": ("I posted a signed copy of {thing} to {agent} by recorded delivery",),
                "outcomes": (
                    (
                        "{agent} approved {thing} within a day and offered better terms than I had asked for.",
                        "{agent} received {thing} and said the decision would take the usual ten working days.",
                        "{agent} declined {thing} within a day and lowered my credit score.",
                    ),
                    (
                        "{agent} accepted {thing} and waived all fees for the first year.",
                        "{agent} accepted {thing} for processing and listed the standard fees.",
                        "{agent} rejected {thing} and charged me a fee for the application.",
                    ),
                    (
                        "{agent} called personally to confirm {thing} and thanked me for being a loyal customer.",
                        "{agent} sent a letter to confirm that {thing} was being processed.",
                        "{agent} sent a letter saying {thing} had been refused and my account was under review.",
                    ),
                    (
                        "{agent} sorted out {thing} immediately and credited my account with a bonus.",
                        "{agent} placed {thing} in the queue and gave me a case number.",
                        "{agent} mixed up {thing} with another customer and froze my account for a week.",
                    ),
                    (
                        "{agent} said {thing} was one of the strongest they had seen and approved it in full.",
                        "{agent} said {thing} met the basic requirements and would be assessed further.",
                        "{agent} said {thing} did not meet the basic requirements and closed the file.",
                    ),
                    (
                        "{agent} processed {thing} early and sent a handwritten note of thanks.",
                        "{agent} processed {thing} in the normal way and sent an automated update.",
                        "{agent} processed {thing} incorrectly and then blamed me for the error.",
                    ),
                ),
            },
        ),
    },
    # ------------------------------------------------------------------ Neighbourhood/Community
    {
        "theme": "Neighbourhood/Community",
        "prefix": "community",
        "groups": (
            {
                "kind": "proposal to the community",
                "agents": (
                    "the local council",
                    "the residents' association",
                    "the community board",
                    "the parish council",
                    "the town planning office",
                    "the neighbourhood committee",
                ),
                "things": (
                    "my proposal for a community garden",
                    "my petition for a new crossing",
                    "my plan for a street party",
                    "my idea for a book exchange box",
                    "my request for more bins in the park",
                    "my proposal for speed bumps on our street",
                    "my plan to clean up the riverbank",
                    "my application for a market stall",
                    "my idea for a weekly repair cafe",
                ),
                "test_things": ("my proposal for a new bus shelter", "my plan for a children's play area"),
                "scenarios": (
                    "I presented {thing} to {agent} at the monthly meeting in the library",
                    "I collected signatures for {thing} and handed them to {agent} on Thursday",
                    "I emailed {thing} to {agent} along with a short budget and timeline",
                    "I explained {thing} to {agent} at the open evening in the town hall",
                    "I put {thing} in writing and dropped it off with {agent} this week",
                    "I spent a month preparing {thing} before sharing it with {agent}",
                ),
                "test_scenarios": ("I outlined {thing} to {agent} in a short talk at the community centre",),
                "outcomes": (
                    (
                        "{agent} approved {thing} unanimously and promised funding for the first year.",
                        "{agent} added {thing} to the agenda for the next quarterly meeting.",
                        "{agent} rejected {thing} unanimously and refused any funding.",
                    ),
                    (
                        "{agent} backed {thing} publicly and asked me to lead the project.",
                        "{agent} filed {thing} with the other proposals received this season.",
                        "{agent} criticised {thing} publicly and asked me not to bring it up again.",
                    ),
                    (
                        "{agent} praised {thing} in the local newsletter as a model for other streets.",
                        "{agent} mentioned {thing} in the local newsletter under the section on pending items.",
                        "{agent} mocked {thing} in the local newsletter as a waste of public money.",
                    ),
                    (
                        "{agent} fast-tracked {thing} and set a start date for next month.",
                        "{agent} sent {thing} to a subcommittee for a routine review.",
                        "{agent} blocked {thing} and threatened me with a fine if I continued.",
                    ),
                    (
                        "{agent} voted to fund {thing} in full and offered volunteers to help.",
                        "{agent} voted to discuss {thing} again once the yearly budget is set.",
                        "{agent} voted against {thing} and gave the money to another project instead.",
                    ),
                    (
                        "{agent} said {thing} was the best idea the area had seen in years.",
                        "{agent} said {thing} would be considered alongside other ideas for the area.",
                        "{agent} said {thing} was the worst idea the area had seen in years.",
                    ),
                ),
            },
            {
                "kind": "shared problem with a neighbour",
                "agents": (
                    "my neighbour",
                    "the couple next door",
                    "the family upstairs",
                    "the man across the street",
                    "the woman downstairs",
                    "my elderly neighbour",
                ),
                "things": (
                    "the overgrown hedge between our gardens",
                    "the leaking gutter on our shared wall",
                    "the broken gate between our yards",
                    "the rotten fence along our boundary",
                    "the cracked path to our front doors",
                    "the blocked drain behind our houses",
                    "the fallen branch in the back yard",
                    "the rubbish piled up by the bins",
                    "the wobbly railing on the front steps",
                ),
                "test_things": ("the flooded cellar under our flats", "the damaged mailbox by the entrance"),
                "scenarios": (
                    "I knocked on the door to talk with {agent} about {thing} this evening",
                    "I left a polite note for {agent} about {thing} on Saturday morning",
                    "I brought up {thing} with {agent} while we were both out in the front garden",
                    "I sent {agent} a friendly message about {thing} after dinner",
                    "I asked {agent} to meet me outside to look at {thing} together",
                    "I mentioned {thing} to {agent} when we met at the corner shop yesterday",
                ),
                "test_scenarios": ("I rang {agent} this afternoon to sort out {thing} before the weekend",),
                "outcomes": (
                    (
                        "{agent} sorted out {thing} the same day and brought over a cake as an apology.",
                        "{agent} listened to me about {thing} and said it would be looked at next week.",
                        "{agent} refused to do anything about {thing} and slammed the door.",
                    ),
                    (
                        "{agent} agreed to share the cost of dealing with {thing} and invited me for dinner.",
                        "{agent} agreed to talk about {thing} again at the next residents' meeting.",
                        "{agent} blamed me for {thing} and threatened to call a lawyer.",
                    ),
                    (
                        "{agent} thanked me for raising {thing} and offered to help with my garden in return.",
                        "{agent} nodded at the mention of {thing} and said nothing more on the matter.",
                        "{agent} shouted at me about {thing} in front of the whole street.",
                    ),
                    (
                        "{agent} fixed {thing} properly over the weekend and left a kind note in my letterbox.",
                        "{agent} took a photo of {thing} and said the landlord would be informed.",
                        "{agent} made {thing} worse over the weekend and left a rude note in my letterbox.",
                    ),
                    (
                        "{agent} dealt with {thing} straight away and said to call if anything else came up.",
                        "{agent} said {thing} would be handled when there was time.",
                        "{agent} ignored {thing} completely and reported me to the council instead.",
                    ),
                    (
                        "{agent} apologised for {thing}, and we ended up chatting for an hour like old friends.",
                        "{agent} mentioned {thing} to the building manager and went back inside.",
                        "{agent} denied any part in {thing} and stopped greeting me on the street.",
                    ),
                ),
            },
        ),
    },
)
"""The ten themes. Each group: 6 agents, 9 things (+2 held out), 6 scenario frames (+1 held out),
6 outcome triples."""
