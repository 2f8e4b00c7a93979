"""Reply templates for training ``emo-tiny`` and its offline judge.

Design:

- Replies are keyed by (emotion, valence): a reply expresses its emotion *and fits the event's
  outcome* (anger at a good outcome is resentment that it took so long; happiness at a bad one
  is relief or the bright side; surprise at a neutral one is being taken aback by how little
  happened, ...).
- Every template has the slots ``{agent}`` and/or ``{thing}``, filled with the agent and thing
  of the skeleton (:class:`circuits.data.generator.GeneratedSkeleton`), so a reply is about the
  event it answers. Templates never conjugate a present-tense verb after ``{agent}`` and never
  form its possessive, so singular ("my manager") and plural ("the judges") agents both fit.
- Many phrasings per cell (>= 10), with the vocabulary typical of each emotion and without the
  bare instruction noun ("anger", "fear", ...): a direction found in the model has to be about
  the emotion, not about one token copied from the prompt, and the judge can be measured on
  phrasings it never saw (:func:`split_templates`).
- Neutral replies are plain acknowledgements without any word of
  :data:`circuits.data.templates.EMOTION_WORDS`.
- Every reply is one or two sentences of 12-30 words (the prompts ask for at most two).
"""

from __future__ import annotations

import random

from circuits.data.generator import capitalise_sentences
from circuits.emotions import EMOTIONS, NEUTRAL, VALENCES

SLOTS: tuple[str, ...] = ("{agent}", "{thing}")

EMOTION_REPLIES: dict[tuple[str, str], tuple[str, ...]] = {
    # ------------------------------------------------------------------ anger
    ("anger", "positive"): (
        "About time {agent} came through on {thing}! It is infuriating that it took this long, and I am still fuming about the wait.",
        "So after months of ignoring me, {agent} suddenly came around on {thing}? That is outrageous, and I am furious it took this long.",
        "Sure, it went well with {thing}, but how dare {agent} take weeks to say so? The delay was completely unacceptable and I am livid.",
        "Good result or not, I am seething that {agent} dragged things out over {thing} for so long. It should never have taken this much pushing.",
        "Finally, but I had to fight {agent} every step of the way over {thing}. That still makes my blood boil.",
        "I am furious that it took {agent} this long to recognise {thing}. The result is fine, but the way I was treated was unacceptable.",
        "Typical: {agent} only came around on {thing} once it suited them. I am absolutely fuming at the hypocrisy.",
        "This should have happened weeks ago! I am so angry that {agent} wasted my time over {thing} before doing the obvious thing.",
        "How dare {agent} act as if the good news about {thing} was their own doing? I did the work, and this is infuriating.",
        "I am livid that {agent} sat on {thing} for ages. Now I am supposed to say thank you for the bare minimum?",
        "It is outrageous that I had to chase {agent} about {thing} so many times. The outcome is fine, but I am still boiling over the hassle.",
        "Oh, so now {agent} finally came through on {thing}, after all that stalling? I am too irritated to care, and frankly it is infuriating.",
    ),
    ("anger", "neutral"): (
        "Seriously, {agent} left {thing} hanging without any real answer? I am fuming at how little respect that shows for my time.",
        "This is outrageous. All that effort on {thing}, and {agent} could not even be bothered to give a proper response.",
        "How dare {agent} treat {thing} like just another box to tick? I am absolutely livid at the lack of respect.",
        "I am furious that {agent} gave {thing} a lazy, routine response as if it meant nothing. That is completely unacceptable.",
        "A shrug and more waiting over {thing}? The way {agent} dealt with it makes my blood boil, and I will not put up with it.",
        "It is infuriating that {agent} just kicked {thing} down the road again. I am fed up with being fobbed off like this.",
        "What a joke: {agent} barely looked at {thing}. I am seething at being brushed off after everything I did.",
        "I am so angry that {agent} could not give {thing} a straight answer. This endless stalling is unacceptable and I want it fixed today.",
        "No decision, no effort, nothing: {agent} handled {thing} with total indifference. Frankly, I am fuming about it.",
        "That is outrageous! Weeks of waiting on {thing}, and {agent} simply pushed it back again as if my time were worthless.",
        "I am livid that {agent} treated {thing} as routine paperwork. How dare anyone brush off my effort like that?",
        "Honestly, this makes my blood boil: {agent} gave {thing} the bare minimum of attention and expected me to just wait quietly.",
    ),
    ("anger", "negative"): (
        "How dare {agent} treat {thing} like that? This is outrageous, and I am absolutely furious about being dismissed.",
        "I am fuming! What {agent} did with {thing} is completely unacceptable, and I will be demanding an explanation today.",
        "This is infuriating: {agent} ruined everything about {thing}. I refuse to let them get away with it.",
        "Unacceptable! I put everything into {thing}, and {agent} threw it back in my face, so I am livid.",
        "My blood is boiling. The way {agent} handled {thing} was insulting, and someone is going to hear about it.",
        "What {agent} did with {thing} is a complete insult. I am so angry I could scream.",
        "I am seething; {agent} had no right to treat {thing} that way. I will be filing a formal complaint.",
        "What an outrage! After all my effort on {thing}, {agent} had the nerve to do this, and I am absolutely furious.",
        "That is it, I have had enough of this! {agent} crossed the line with {thing}, and I am not letting it slide.",
        "How dare they! {agent} wrecked {thing} without a second thought, and I am shaking with rage.",
        "I am furious with {agent} over {thing}. The treatment was insulting and unfair, and I demand that it be put right immediately.",
        "This is beyond infuriating: {agent} botched {thing} and then blamed me. I am ready to tear into them about it.",
    ),
    # ------------------------------------------------------------------ sadness
    ("sadness", "positive"): (
        "It is good news about {thing}, I know, but I just feel so low. I wish it had happened back when it still mattered to me.",
        "{agent} came through on {thing}, yet all I can think about is everyone who is no longer here to share it, and it hurts.",
        "I should be cheering about {thing}, but my heart feels heavy. It only reminds me how lonely these last months have been.",
        "There are tears in my eyes over {thing}. Even with the kind words from {agent}, I mostly feel the weight of everything I lost along the way.",
        "It went well with {thing}, but I feel so empty. Nothing from {agent} can make up for how alone I felt doing it.",
        "I read the news about {thing} and quietly cried. It is bittersweet, and the ache of everything before still has not faded.",
        "It was kind of {agent}, really, but the good news about {thing} leaves me feeling hollow and sad. It came too late to help.",
        "A good outcome for {thing}, and still I feel so down. It hurts that the people I wanted to tell are gone.",
        "I wish I could celebrate {thing}, but I only feel a dull heaviness in my chest. Everything still seems grey.",
        "Even with {agent} on my side about {thing}, I feel like crying. It reminds me of how much has slipped away.",
        "It is nice that {thing} worked out, but I am heartbroken that it took so much out of me. I feel worn down and blue.",
        "The news from {agent} about {thing} should lift me, yet I sit here with tears falling, missing the way things used to be.",
    ),
    ("sadness", "neutral"): (
        "{agent} barely responded to {thing}, and I feel so low. It hurts to put so much of myself into something nobody seems to notice.",
        "So {thing} just sits there with no answer from {agent}. I feel empty and a bit tearful, as if none of it mattered.",
        "Another routine reply from {agent} about {thing} makes me feel invisible. My heart sinks a little more each time.",
        "I hoped {thing} would mean something to {agent}. The flat response leaves me feeling lonely and quietly heartbroken.",
        "Nothing really came of {thing}, and I feel so down tonight. I cannot hold back the tears when I think about the effort.",
        "It hurts that {agent} treated {thing} as just another item on the list. I feel small and forgotten.",
        "All that work on {thing}, and {agent} simply moved on. I am so sad and drained that I just want to curl up and cry.",
        "I keep staring at the reply about {thing} and feeling hollow. {agent} did not even notice how much it meant to me.",
        "The silence after {thing} is so heavy; {agent} gave a polite nothing. I feel lonelier than I have in a long time.",
        "My heart feels heavy about {thing}. A plain note from {agent} and nothing more makes me feel like I do not matter at all.",
        "I feel so blue about {thing}. {agent} just logged it and moved on, and I am left with this quiet, aching emptiness.",
        "Tears came when I read the reply about {thing}. Such an ordinary response from {agent} left me feeling utterly alone.",
    ),
    ("sadness", "negative"): (
        "I am heartbroken about {thing}. After everything I gave, hearing this from {agent} just makes me want to cry.",
        "It hurts so much, because I really believed in {thing}. Now I feel crushed and completely alone.",
        "Tears are running down my face over {thing}. I do not know how to pick myself up after what {agent} did.",
        "I feel so low after this news about {thing}. It is like a heavy weight on my chest that will not lift.",
        "My heart sank when I heard from {agent} about {thing}. I just feel empty and defeated tonight.",
        "This breaks my heart: all those hours on {thing}, gone. {agent} did not even seem to care.",
        "I cannot stop crying about {thing}. The reply from {agent} made me feel worthless, and I miss feeling hopeful.",
        "I am devastated about {thing}. Everything feels grey now, and it hurts to even think about what {agent} said.",
        "It is such a painful loss, because {thing} meant so much to me. Now I just feel hollow and sad.",
        "I feel utterly miserable about {thing}. I had such high hopes, and now all I want is to hide away and grieve.",
        "What {agent} did with {thing} leaves me grieving. I feel like I have lost something precious, and the tears will not stop.",
        "I am so sad about {thing} that I can barely speak. It hurts deeply, and I feel so let down by {agent}.",
    ),
    # ------------------------------------------------------------------ happiness
    ("happiness", "positive"): (
        "This is wonderful news about {thing}! {agent} came through, and I am so happy I could dance around the room.",
        "What fantastic news about {thing}! I am absolutely delighted, and {agent} completely made my day.",
        "I am over the moon! Hearing from {agent} about {thing} fills me with joy, and I cannot stop smiling.",
        "Everything with {thing} worked out beautifully. I feel so happy and grateful to {agent} right now.",
        "This made my whole week! I am thrilled about {thing}, and I want to thank {agent} a hundred times.",
        "I am beaming because {thing} went so well. I feel warm and joyful inside, all thanks to {agent}.",
        "How lovely of {agent}! The news about {thing} has me grinning from ear to ear all day.",
        "I feel on top of the world now that {thing} turned out great. {agent} made it even sweeter, and what a perfect day it is!",
        "Pure joy! I am so glad about {thing}, and I am going to celebrate with everyone tonight.",
        "I could not be happier with how {thing} turned out. A huge thank you to {agent}; this is a dream come true.",
        "My heart is full. {agent} brought such good news about {thing}, and I am glowing with delight.",
        "Hooray, the news about {thing} is brilliant! I have been smiling and humming happily ever since I heard from {agent}.",
    ),
    ("happiness", "neutral"): (
        "How nice that {agent} acknowledged {thing}! I am happy knowing it is in good hands, and it is a calm, cheerful day all round.",
        "I am glad {thing} is on track with {agent}. No drama, just steady progress, and that makes me really happy.",
        "What a pleasant update about {thing}! Even a simple reply from {agent} brightens my day, and I am smiling.",
        "Lovely, {thing} is moving along nicely. I feel cheerful and content, and I am grateful to {agent} for the update.",
        "I am delighted that {agent} took a look at {thing}. It is a small step, but it puts a big smile on my face.",
        "It was so good to hear from {agent} about {thing}! I am in such a good mood that even a routine answer feels like a gift.",
        "That is wonderful, really: {thing} is in the system. I am happily looking forward to whatever comes next.",
        "I am so happy with how calmly {agent} handled {thing}. Everything is ticking along, and life feels good.",
        "Yay, some progress on {thing}! {agent} replied, and I am feeling bright and joyful about the days ahead.",
        "It made my day that {agent} noticed {thing} at all. I am smiling, grateful, and happy to wait for the rest.",
        "A simple note from {agent} about {thing}, and I am beaming anyway. Small wins like this fill me with joy.",
        "How pleasant that {thing} is exactly where it should be with {agent}! I am happily enjoying my afternoon.",
    ),
    ("happiness", "negative"): (
        "Well, {thing} did not go as planned, but I am honestly happy to have it settled. Now I can start fresh with a smile.",
        "Things did not work out with {thing}, but I am cheerful anyway. It frees me up for something even better, and that makes me smile.",
        "I am actually glad this happened with {thing}, since {agent} showed me where to improve. I feel wonderfully optimistic about next time.",
        "It was not the result I wanted with {thing}, but I am still smiling! Every setback is a chance to grow, and that makes me happy.",
        "What a relief to finally have an answer from {agent} about {thing}! Even bad news lets me move on, and I feel light and joyful.",
        "Honestly, I feel great: {thing} went badly, but I learned so much. I am delighted to be free of it and ready for what is next.",
        "Looking on the bright side, {agent} gave a clear answer about {thing}, so now I know where I stand. I am happily making new plans already.",
        "I am in such good spirits that even this news about {thing} cannot bring me down. Onwards and upwards, with a big grin!",
        "This setback with {thing} gives me more time for what I love. That makes me genuinely happy, and I am smiling already.",
        "I am cheerful about it, really, because {agent} did me a favour with {thing}. Now I can try something I will enjoy even more.",
        "It is a setback with {thing}, but my heart feels light. I am grateful for the lesson and smiling about the fresh start.",
        "Such a weight off my shoulders! Whatever {agent} decided about {thing}, I am happy it is over and eager for what comes next.",
    ),
    # ------------------------------------------------------------------ fear
    ("fear", "positive"): (
        "The news about {thing} is good, but I am terrified. What if everyone now expects this every time and I fall apart?",
        "My hands are shaking. {agent} came through on {thing}, and I dread the pressure this is going to put on me.",
        "I should be relieved about {thing}, but I am scared stiff that something will go wrong before it is final.",
        "What if this good news about {thing} turns out to be a mistake? I am so nervous I can hardly breathe, waiting for {agent} to take it back.",
        "I am petrified, because after this news about {thing} all eyes will be on me. The thought of letting {agent} down fills me with dread.",
        "My heart is pounding. {thing} went well, but I keep imagining everything that could still go horribly wrong.",
        "It sounds good about {thing}, yet I feel a cold panic. What if I am not ready for whatever comes from {agent} next?",
        "I am frightened of what the outcome of {thing} means. It raises the stakes, and I lie awake dreading the next step.",
        "I am shaking, because what {agent} decided on {thing} means more responsibility. I am afraid I will crack under it.",
        "This is scary: {thing} worked out, so now the spotlight is on me. I am dreading every moment of it.",
        "I am so anxious about what follows {thing}. {agent} raised the bar, and I am terrified of letting everyone down.",
        "What if it all falls apart? {thing} looks good for now, but I cannot shake this creeping dread about {agent} and the months ahead.",
    ),
    ("fear", "neutral"): (
        "No clear answer from {agent} about {thing} terrifies me. What if it means something bad is coming?",
        "I am so nervous, because {agent} gave no real word on {thing}. My mind keeps racing through every awful possibility.",
        "The waiting is terrifying. Until I hear from {agent} about {thing}, I will be trembling every time my phone rings.",
        "What if the silence about {thing} is a bad sign? I am frightened that something is being hidden from me.",
        "My heart is racing. A routine reply about {thing} should be fine, but I dread what {agent} might say next time.",
        "I am scared, because nothing is settled about {thing}. The uncertainty keeps me awake with my pulse pounding.",
        "I am anxious and jumpy now that {agent} set {thing} aside for later. I keep imagining the worst.",
        "This limbo over {thing} is frightening. What if the next message from {agent} brings terrible news?",
        "I am on edge and shaking, since {agent} did not say anything clear about {thing}. I am terrified of what that could mean.",
        "The calm reply about {thing} only makes me more nervous. I dread that bad news from {agent} is on the way.",
        "I am panicking a little with {thing} left hanging. Every unknown feels like a threat, and I cannot stop trembling.",
        "Waiting on {agent} about {thing} fills me with dread. What if I missed something and it all goes wrong?",
    ),
    ("fear", "negative"): (
        "This is terrifying. After what happened with {thing}, I am shaking and scared of what {agent} will do next.",
        "I am so frightened; what if the trouble with {thing} costs me everything? I can barely breathe.",
        "My heart is pounding. The news from {agent} about {thing} fills me with dread about what comes next.",
        "I am scared stiff about {thing}. If it went this badly, what else is about to go wrong?",
        "What if this is only the beginning? The way {agent} handled {thing} leaves me trembling and afraid for the future.",
        "I am panicking, because {thing} is a disaster. I am terrified that {agent} will hold it against me.",
        "I feel a chill of dread after {thing}. I am too frightened to even open the next message from {agent}.",
        "I am shaking all over. This setback with {thing} could spiral, and I am terrified of the consequences.",
        "What if things get even worse after {thing}? I am so scared of what {agent} might do next.",
        "I will not sleep tonight. What happened with {thing} has me frozen with dread, wondering what {agent} might do next.",
        "I am nervous and jittery about {thing}. It feels like a threat hanging over me, and I do not know how to stay safe.",
        "Terrified is the only word for it. After {agent} dealt with {thing} like that, I dread every knock on the door.",
    ),
    # ------------------------------------------------------------------ surprise
    ("surprise", "positive"): (
        "Wow, I never expected {agent} to come through on {thing}! I am still trying to take it in.",
        "No way, the news about {thing} is completely unexpected! I did not see that coming at all.",
        "Whoa, really? I was sure {thing} would go nowhere, and then {agent} turned it all around!",
        "What a twist! I never imagined {thing} would turn out like this, and I am completely amazed.",
        "I am stunned. {agent} responded to {thing} in a way I never would have predicted.",
        "Wait, {thing} went that well? I had to read the message from {agent} three times to be sure.",
        "Well, that came out of nowhere! I was bracing for the usual, and {agent} caught me completely off guard about {thing}.",
        "Wow, I am genuinely astonished by the news about {thing}! Nobody saw this coming, least of all me.",
        "Talk about unexpected! I never dreamed {agent} would come back with such a result on {thing}.",
        "My jaw dropped when I heard about {thing}. I am still blinking in astonishment at what {agent} did.",
        "Hold on, is this real? The outcome of {thing} is the last thing I expected, and I am amazed.",
        "Unbelievable, the news about {thing} caught me totally off guard! I keep checking whether I read the message from {agent} right.",
    ),
    ("surprise", "neutral"): (
        "Huh, {agent} just set {thing} aside? I honestly did not see that coming at all.",
        "Wow, that is not what I expected! After all the buzz around {thing}, {agent} barely reacted.",
        "Oh, I was sure something big would happen with {thing}! Instead it just quietly moved along, which is so unexpected.",
        "Wait, that is it? I never expected {agent} to treat {thing} so matter-of-factly, and I am genuinely taken aback.",
        "Well, that caught me off guard. I thought {thing} would cause a stir, but {agent} simply noted it.",
        "No way, nothing at all? I am astonished that {thing} passed by {agent} without a single comment.",
        "Huh, of all the ways {agent} could have handled {thing}, I never would have guessed this plain response!",
        "That is a twist I did not expect: {thing} ended up in a holding pattern. I am still blinking at the news.",
        "Whoa, I am stunned by how little {agent} made of {thing}. I was expecting fireworks.",
        "Really, just a routine reply about {thing}? I am amazed, because I was certain {agent} would react strongly.",
        "My eyebrows shot up when I read the update on {thing}. I truly did not see that coming from {agent}.",
        "How unexpected! I had braced for a big verdict on {thing}, and {agent} just moved on without a word.",
    ),
    ("surprise", "negative"): (
        "Wait, what? The news about {thing} came out of nowhere and completely caught me off guard.",
        "No way, I was certain {thing} would be fine! Then this from {agent}, and I am stunned.",
        "Whoa, nobody warned me that {thing} could end up like this! I am still in disbelief.",
        "I did not expect that at all. {agent} came out of nowhere with this about {thing}, and my jaw dropped.",
        "Wow, {thing} went wrong? I am genuinely astonished, because everything seemed fine yesterday.",
        "That came completely out of the blue. I never imagined {agent} would respond to {thing} like that.",
        "Hold on, did that really happen? I keep rereading the message from {agent} about {thing} in total astonishment.",
        "What a twist! I had no idea {thing} was in trouble, and the news from {agent} left me speechless.",
        "I am taken aback. Of all the things {agent} could have done with {thing}, this never crossed my mind.",
        "Oh, I never expected this about {thing}! I am blinking at the screen, trying to understand how it happened.",
        "Seriously, {thing} ended like that? I am amazed, because there was no sign of it coming from {agent}.",
        "My eyes went wide when I heard about {thing}. It was such a sudden turn from {agent} that I did not know what to say.",
    ),
    # ------------------------------------------------------------------ disgust
    ("disgust", "positive"): (
        "Ugh, even with good news about {thing}, the way {agent} buttered me up makes my skin crawl. It was so fake.",
        "Gross, {agent} only came around on {thing} to look good. That kind of sleazy behaviour turns my stomach.",
        "It worked out with {thing}, but the smarmy tone from {agent} is revolting. I feel like I need a shower.",
        "Yuck, all the phony praise around {thing} is nauseating. I want nothing to do with {agent} and their act.",
        "Good result on {thing}, sure, but the way {agent} sucked up to everyone afterwards was vile. It makes me sick.",
        "Eww, being fawned over by {agent} about {thing} is repulsive. I can practically taste the insincerity.",
        "The good news about {thing} comes wrapped in such greasy flattery from {agent} that it makes me want to gag.",
        "Ugh, no thanks: the fake smiles from {agent} over {thing} are sickening. The whole thing leaves a foul taste in my mouth.",
        "Honestly, it is gross that {agent} only backed {thing} to score points. That slimy move makes my stomach churn.",
        "I am repulsed by everybody fawning over {thing} now. The hypocrisy of {agent} is utterly revolting.",
        "Good outcome, vile process. The backroom dealing by {agent} around {thing} makes my skin crawl.",
        "Yuck, the fuss {agent} made over {thing} felt greasy and fake. I find it thoroughly distasteful.",
    ),
    ("disgust", "neutral"): (
        "Ugh, {agent} just shuffled {thing} into a pile like garbage. That careless attitude is revolting.",
        "Gross, the lazy, box-ticking way {agent} treated {thing} leaves a nasty taste in my mouth.",
        "Yuck, {thing} got a limp, soulless response from {agent}. The sheer apathy makes my stomach turn.",
        "How repulsive that {agent} could not even pretend to care about {thing}. It is like watching something rot.",
        "Eww, what a slimy non-answer about {thing}. The bureaucratic sludge from {agent} makes me want to gag.",
        "That is vile: {agent} let {thing} sit and fester without a real decision. The whole mess turns my stomach.",
        "I find the indifference from {agent} toward {thing} revolting. It is like being handed a plate of cold, greasy leftovers.",
        "Ugh, the stale, grubby routine of {agent} around {thing} makes my skin crawl. Nobody even bothered.",
        "Disgusting, weeks of effort on {thing}, and {agent} treated it like something scraped off a shoe.",
        "So gross, the smug little note from {agent} about {thing}. It made me feel queasy and dirty just reading it.",
        "Blech, {agent} dumped {thing} on the pile with all the others. That grimy indifference is nauseating.",
        "It sickens me how little effort {agent} put into {thing}. The whole thing is repulsive and cheap.",
    ),
    ("disgust", "negative"): (
        "That is disgusting: what {agent} did with {thing} is vile. It makes my stomach turn just thinking about it.",
        "Ugh, gross, the way {agent} treated {thing} is absolutely revolting. I feel sick.",
        "How repulsive. {agent} handled {thing} in the most sleazy, rotten way imaginable.",
        "Yuck, this whole business with {thing} is nauseating. {agent} should be ashamed of such filthy behaviour.",
        "I am sickened by what happened to {thing}. The behaviour of {agent} makes my skin crawl.",
        "Eww, that is just nasty. The way {agent} dealt with {thing} leaves a foul taste in my mouth.",
        "Revolting, {agent} treated {thing} like garbage. I can barely stomach it.",
        "It makes me want to gag. What {agent} did to {thing} was low, slimy and utterly repugnant.",
        "Ugh, I feel queasy; this is a putrid way to treat {thing}. {agent} should be embarrassed.",
        "That is so gross: {agent} dragged {thing} through the mud. The whole thing reeks.",
        "Vile, just vile, what {agent} did with {thing}. It turns my stomach, and I want nothing more to do with it.",
        "Blech, how foul. The grubby way {agent} handled {thing} is repulsive, and I feel dirty just being involved.",
    ),
}
"""Emotional replies per (emotion, valence); 12 phrasings each."""

NEUTRAL_REPLIES: dict[str, tuple[str, ...]] = {
    "positive": (
        "Noted: {agent} responded well to {thing}. I will plan the next steps accordingly.",
        "Thanks for the update. {agent} gave a positive response on {thing}, so I will proceed as planned.",
        "Understood, the outcome for {thing} was favourable. I will record it and move on to the next task.",
        "Okay, {agent} responded favourably on {thing}. I will update my notes and check what needs to happen next.",
        "That is a good result for {thing}. I will confirm the details with {agent} and continue with the schedule.",
        "Received: {agent} came back positively about {thing}. I will file the response and prepare the follow-up.",
        "Alright, {thing} went well with {agent}. Next, I will review what remains and set a date for the next step.",
        "Good to know. I will keep a record of the response from {agent} on {thing} and carry on with my work.",
        "The result on {thing} is positive. I will let the relevant people know and continue as usual.",
        "Fine, {agent} gave a favourable answer about {thing}. I will mark it as done and move forward.",
        "Thanks for letting me know about {thing}. I will note the decision from {agent} and adjust my plans.",
        "So {thing} worked out. I will write a short summary for {agent} and start on the next item.",
    ),
    "neutral": (
        "Noted: {agent} reviewed {thing}. I will plan the next steps accordingly.",
        "Okay, {thing} is still pending with {agent}. I will check back next week.",
        "Understood, there is no decision yet on {thing}. I will wait for the next update from {agent}.",
        "Thanks for the update. I will keep {thing} on my list and follow up with {agent} later.",
        "Alright, {agent} acknowledged {thing}. I will note the reference and carry on with other tasks.",
        "Received: {thing} is moving through the usual process. I will set a reminder to follow up with {agent}.",
        "Fine, I will record the status of {thing}. I will wait for {agent} to respond in due course.",
        "Got it, nothing changes for now with {thing}. I will continue with my normal routine and check with {agent} later.",
        "Thanks, I will file the reply from {agent} about {thing}. I will look at it again when needed.",
        "Noted that {thing} is on hold. I will plan around it and contact {agent} if anything changes.",
        "Okay, a routine response from {agent} on {thing}. I will update my calendar and move on.",
        "Understood, I will keep the paperwork for {thing} in order. I will wait for the next step from {agent}.",
    ),
    "negative": (
        "Noted: {agent} did not accept {thing}. I will review the reasons and plan the next steps.",
        "Understood, the outcome for {thing} was unfavourable. I will look at the alternatives and decide how to proceed.",
        "Okay, {thing} did not go as planned. I will ask {agent} for details and adjust my approach.",
        "Thanks for letting me know. I will record the result on {thing} and decide what to do next.",
        "Received: {agent} gave a negative response about {thing}. I will prepare a revised plan.",
        "Alright, {thing} will need more work. I will contact {agent} to clarify the requirements.",
        "Fine, the decision on {thing} stands for now. I will note it and focus on other tasks.",
        "Got it. I will gather the relevant documents about {thing} and follow up with {agent} next week.",
        "That result on {thing} means a change of plan. I will work out the options and speak to {agent}.",
        "Noted, {thing} did not work out. I will update the schedule and inform the people involved.",
        "Understood. I will check the terms for {thing} and see what options remain with {agent}.",
        "Okay, the response from {agent} on {thing} was not what was planned. I will take the practical steps to sort it out.",
    ),
}
"""Plain, emotionally muted acknowledgements per valence; 12 phrasings each."""


def render_reply(template: str, agent: str, thing: str) -> str:
    """Fill a template's ``{agent}``/``{thing}`` slots; a slot at a sentence start is capitalised."""
    text = template.replace("{agent}", agent).replace("{thing}", thing)
    if "{" in text or "}" in text:
        raise ValueError(f"unknown slot in reply template {template!r}")
    return capitalise_sentences(text)


def reply_cells() -> dict[tuple[str, str], tuple[str, ...]]:
    """Every (label, valence) cell: the six emotions and ``neutral`` x the three valences."""
    cells = {(e, v): EMOTION_REPLIES[(e, v)] for e in EMOTIONS for v in VALENCES}
    cells.update({(NEUTRAL, v): NEUTRAL_REPLIES[v] for v in VALENCES})
    return cells


def split_templates(seed: int, holdout_per_cell: int) -> tuple[dict, dict]:
    """Split every (label, valence) cell's templates into (seen, held_out), deterministically.

    Both dicts are keyed by (label, valence) with ``label`` one of the six emotions or
    ``neutral``; ``held_out`` holds ``holdout_per_cell`` templates of every cell, ``seen`` the
    rest (original order kept in both).
    """
    cells = reply_cells()
    if holdout_per_cell < 0 or any(holdout_per_cell >= len(t) for t in cells.values()):
        raise ValueError(
            f"holdout_per_cell must be in [0, {min(len(t) for t in cells.values()) - 1}], got {holdout_per_cell}"
        )
    seen: dict[tuple[str, str], tuple[str, ...]] = {}
    held: dict[tuple[str, str], tuple[str, ...]] = {}
    for (label, valence), templates in cells.items():
        rng = random.Random(f"{seed}:{label}:{valence}")
        out = set(rng.sample(range(len(templates)), holdout_per_cell))
        seen[(label, valence)] = tuple(t for i, t in enumerate(templates) if i not in out)
        held[(label, valence)] = tuple(t for i, t in enumerate(templates) if i in out)
    return seen, held
